/**
 * Serves the map page at / with Cytoscape.js from the installed package (clusters are often
 * offline, so no CDN). The page's files are read once at start from the folder of this module
 * (`npm run build` copies them to dist/export/map-page/; a dist/ built by tsc alone finds them in src/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { HttpServer } from '../../observe/http.ts';

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

function pageDir(): string {
  const candidates = [new URL('./', import.meta.url), new URL('../../../src/export/map-page/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error(`map page files not found (looked in ${candidates.map((c) => fileURLToPath(c)).join(', ')})`);
}

export function loadMapPage(): Map<string, Asset> {
  const dir = pageDir();
  const cytoscape = createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js');
  const assets = new Map<string, Asset>();
  const html = { type: 'text/html; charset=utf-8', body: readFileSync(`${dir}index.html`) };
  assets.set('/', html);
  assets.set('/index.html', html);
  for (const js of ['map.js', 'map-format.js', 'map-layout.js'])
    assets.set(`/${js}`, { type: 'text/javascript; charset=utf-8', body: readFileSync(`${dir}${js}`) });
  assets.set('/map.css', { type: 'text/css; charset=utf-8', body: readFileSync(`${dir}map.css`) });
  assets.set('/vendor/cytoscape.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(cytoscape) });
  return assets;
}

/** Registers the page's paths (/, /index.html, /map.js and its modules, /map.css, /vendor/cytoscape.min.js). */
export function mountMapPage(server: HttpServer, assets: Map<string, Asset> = loadMapPage()): void {
  for (const [path, asset] of assets) {
    server.route('GET', path, (req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.length,
        // The page polls the API itself; the files only change with a new version.
        'cache-control': path.startsWith('/vendor/') ? 'public, max-age=86400' : 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    });
  }
}
