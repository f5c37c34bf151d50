/**
 * The dashboard's files: web/ of the package and uPlot's build from node_modules, read once
 * through the state store and kept (about 80 KB). No CDN, no build step.
 */
import { fileURLToPath } from 'node:url';
import type { StateStore } from '../../system/system.js';

/** The package root, from dist/src/control/http/. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const FILES: Record<string, [string, string]> = {
  '/': ['web/index.html', 'text/html; charset=utf-8'],
  '/app.js': ['web/app.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['web/app.css', 'text/css; charset=utf-8'],
  // Browsers ask for /favicon.ico whatever the page says: answer both with the SVG.
  '/favicon.svg': ['web/favicon.svg', 'image/svg+xml'],
  '/favicon.ico': ['web/favicon.svg', 'image/svg+xml'],
  '/uplot.js': ['node_modules/uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/uplot.css': ['node_modules/uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

export class WebAssets {
  private readonly cache = new Map<string, { type: string; body: string }>();

  constructor(private readonly store: Pick<StateStore, 'read'>) {}

  async get(path: string): Promise<{ type: string; body: string } | undefined> {
    const f = FILES[path === '/index.html' ? '/' : path];
    if (!f) return undefined;
    const hit = this.cache.get(f[0]);
    if (hit) return hit;
    const body = await this.store.read(`${ROOT}${f[0]}`);
    if (body === undefined) return undefined;
    const a = { type: f[1], body };
    this.cache.set(f[0], a);
    return a;
  }
}
