/** The admin's overrides a confirmed apply snapshots and a rollback restores (docs/apply.md). */
export interface AdminOverrides {
  /** `uplink force NAME`. */
  forced?: string;
  /** `uplink down|block NAME`, `uplink demand NAME off`, by uplink. */
  uplinks: Record<string, { adminDown: boolean; adminBlocked: boolean; demandOff: boolean }>;
  /** `uplink job stop NAME`. */
  jobsStopped?: string[];
}
