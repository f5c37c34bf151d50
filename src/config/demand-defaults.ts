/** Demand defaults the schema's cross-checks need too (kept apart from the schema types to avoid a cycle). */

export const DEFAULT_IDLE_MS = 5 * 60_000;

/** The proxy of demand uplink `name` when proxy_interface is not set: cut to the kernel's 15 characters. */
export const defaultProxyName = (name: string): string => `dod-${name}`.slice(0, 15);
/** The proxy address of the `n`th demand uplink (1-based) when proxy_address is not set. */
export const defaultProxyAddress = (n: number): string => `169.254.77.${n}`;
