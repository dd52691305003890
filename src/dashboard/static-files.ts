/**
 * The page: plain HTML, CSS and ES modules from the package's `dashboard/` folder (no build step), and
 * uPlot's own files from its npm package (no CDN: the page works offline). Read once, served from memory,
 * only by the names listed here, so no request path ever reaches the file system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dashboardFolder } from '../cluster/paths.js';

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

let cached: Map<string, StaticFile> | undefined;

/** Request path → file, for every file the page needs. */
export function staticFiles(): Map<string, StaticFile> {
  if (cached) return cached;
  const files = new Map<string, StaticFile>();
  const add = (route: string, path: string) => {
    const ext = path.slice(path.lastIndexOf('.') + 1);
    const contentType = CONTENT_TYPES[ext];
    if (contentType) files.set(route, { body: readFileSync(path), contentType });
  };
  const folder = fileURLToPath(dashboardFolder);
  for (const name of readdirSync(folder)) add(name === 'index.html' ? '/' : `/app/${name}`, `${folder}${name}`);
  const require = createRequire(import.meta.url);
  add('/vendor/uPlot.esm.js', require.resolve('uplot/dist/uPlot.esm.js'));
  add('/vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'));
  cached = files;
  return files;
}
