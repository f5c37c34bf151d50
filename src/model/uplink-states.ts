/** The uplink states (uplinks/state.ts decides them): shared with the condition language's checks. */
export const UPLINK_STATES = [
  'disabled', // taken down by the admin (`uplink down`)
  'blocked', // gave up re-dialling, or blocked by the admin
  'down', // no carrier, no address, no gateway, or not dialled
  'holdoff', // waiting before the next dial
  'connecting', // connect command running, link not there yet
  'verifying', // link there, probes not judged yet
  'up',
  'degraded', // probes pass, but quality is poor
  'failed', // probes fail
] as const;

export type UplinkState = (typeof UPLINK_STATES)[number];
