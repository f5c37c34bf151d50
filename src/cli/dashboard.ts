/**
 * `uplink dashboard`: a one-time login link for the web dashboard. The link carries a code
 * that is spent on first use and sets a session cookie; the API token itself never appears
 * on a page or in a URL.
 */
import { rpc } from '../control/client.js';
import type { Command } from './args.js';

interface Login {
  url: string;
  expiresInS: number;
}

export const dashboard: Command = {
  summary: 'print a one-time login link for the web dashboard',
  async run(ctx) {
    const r = (await rpc(ctx.socket, 'login')) as Login;
    if (ctx.json) console.log(JSON.stringify(r));
    else {
      const port = new URL(r.url).port;
      console.log(r.url);
      console.log(
        `one use, valid ${Math.round(r.expiresInS / 60)} min; reading needs no login from this machine.\n` +
          `from a laptop: ssh -L ${port}:127.0.0.1:${port} root@GATEWAY, then open the link there`,
      );
    }
    return 0;
  },
};
