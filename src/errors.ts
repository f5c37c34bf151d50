/**
 * Errors are values with codes (docs/architecture.md, principle 6). The CLI prints
 * `message` and `hint` for any UplinkError; anything else is a bug and gets a stack.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_READ'
  | 'DAEMON_NOT_RUNNING'
  | 'ALREADY_RUNNING'
  | 'RPC_BAD_JSON'
  | 'RPC_BAD_REQUEST'
  | 'RPC_UNKNOWN_METHOD'
  | 'RPC_BAD_PARAMS'
  | 'RPC_INTERNAL'
  | 'NETLINK'
  | 'SYSTEM'
  | 'USAGE'
  | 'UNKNOWN_UPLINK'
  | 'NFT_REJECTED';

export class UplinkError extends Error {
  constructor(
    readonly code: ErrorCode | string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UplinkError';
  }

  toJSON(): { code: string; message: string; hint?: string } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function isUplinkError(e: unknown): e is UplinkError {
  return e instanceof UplinkError;
}
