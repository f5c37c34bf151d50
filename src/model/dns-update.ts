/** An RFC 2136 DNS UPDATE of one name to one address, signed with TSIG, and its answer. */
export interface DnsUpdateRequest {
  /** IP address of the primary. */
  server: string;
  port?: number;
  zone: string;
  name: string;
  type: 'A' | 'AAAA';
  address: string;
  ttl: number;
  key: { name: string; algorithm: 'hmac-sha256'; secret: string };
  /** The source address: the update leaves through the uplink it announces. */
  localAddress?: string;
  timeoutMs: number;
}

export interface DnsUpdateResult {
  ok: boolean;
  /** NOERROR, NOTAUTH, REFUSED, SERVFAIL, TIMEOUT, ... */
  rcode: string;
  /** BADSIG, BADKEY, BADTIME when the server reports one. */
  tsigError?: string;
  /** Timeouts, SERVFAIL, network errors: worth retrying; a wrong key or a refusal is not. */
  retryable: boolean;
  /** One line, never with the key. */
  message: string;
}
