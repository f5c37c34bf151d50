/** The shapes of config warnings and of the interface addresses they are judged against. */
export interface IfAddr {
  ifname: string;
  family: 4 | 6;
  address: string;
  prefixlen: number;
}

export interface ConfigWarning {
  /** Config path it is about, e.g. `forwards[3].to` or `uplinks.wan2`. */
  path: string;
  message: string;
  hint?: string;
}
