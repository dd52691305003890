/**
 * Where the entry scripts and the worker runtime are. convoy runs in one of three layouts, and a spawned
 * thread or process must load the same one as the coordinator (one copy of convoy per thread, shared by
 * the runtime and the user's module):
 * - its TypeScript sources through tsx (development and tests): src/;
 * - the bundle (dist/bundle/, what the package exports): the worker runtimes are in its first layer,
 *   core.js, which `convoy/worker` and `convoy` import too: a worker loads one file of convoy;
 * - the compiled files one by one (dist/src/, which the compiled examples import).
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

/** Defined (true) by the bundler, scripts/bundle.mjs; not declared at all in src/ and dist/src/. */
declare const CONVOY_BUNDLED: boolean;

const here = import.meta.url;
/** True when this file itself is TypeScript (running under tsx). */
export const fromSource = here.endsWith('.ts');
const bundled = typeof CONVOY_BUNDLED === 'boolean' && CONVOY_BUNDLED;
const ext = fromSource ? '.ts' : '.js';

/** The package root: src/cluster/ and dist/bundle/ → ../../, dist/src/cluster/ → ../../../ */
const root = new URL(fromSource || bundled ? '../../' : '../../../', here);
/** A module of the worker side: the bundle's own entry, or src/worker/<name> beside this folder. */
const workerModule = (name: string, bundleEntry: string): string =>
  new URL(bundled ? `dist/bundle/${bundleEntry}.js` : `./../worker/${name}${ext}`, bundled ? root : here).href;

export const threadEntry = new URL('workers/thread.js', root);
export const processEntry = new URL('workers/process.js', root);
export const poolEntry = new URL('workers/pool.js', root);
export const threadRuntime = workerModule('thread-main', 'core');
export const processRuntime = workerModule('process-main', 'core');
/** The runtime of a worker an agent starts (its control channel over NATS). */
export const remoteRuntime = workerModule('nats-main', 'nats-main');
/**
 * What pool threads take from convoy (src/worker/pool-support.ts): in the bundle, core.js, which exports
 * the same names and is shipped (the package leaves dist/src's modules out).
 */
export const poolSupportModule = bundled ? new URL('dist/bundle/core.js', root).href : new URL(`./../worker/pool-support${ext}`, here).href;
/** The dashboard page's files. */
export const dashboardFolder = new URL('dashboard/', root);

/**
 * A user module (a path relative to `cwd`, or a URL) as a file URL string: the coordinator's, against its
 * current directory, and an agent's for a worker it starts, against its own.
 */
export function moduleUrl(module: string | URL, cwd = process.cwd()): string {
  if (module instanceof URL) return typeScriptTwin(module.href);
  if (/^file:/i.test(module)) return typeScriptTwin(new URL(module).href);
  return typeScriptTwin(pathToFileURL(path.resolve(cwd, module)).href);
}

const TWIN_EXTENSIONS: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/**
 * A module named `x.js` that does not exist, beside an `x.ts` that does, is `x.ts`: TypeScript's own
 * imports name a module by what it compiles to, and tsx resolves them so; a coordinator run from its
 * sources names its workers the same way (`new URL('./counter.js', import.meta.url)`) and would otherwise
 * point at a file only the compiler writes. A `.js` that exists always wins, so a compiled tree is untouched.
 */
export function typeScriptTwin(href: string): string {
  if (!href.startsWith('file:')) return href;
  const url = new URL(href);
  const file = fileURLToPath(url);
  const ext = path.extname(file);
  const twinExt = TWIN_EXTENSIONS[ext];
  if (twinExt === undefined || existsSync(file)) return href;
  const twin = file.slice(0, -ext.length) + twinExt;
  if (!statSync(twin, { throwIfNoEntry: false })?.isFile()) return href;
  url.pathname = pathToFileURL(twin).pathname;
  return url.href;
}

/**
 * A user module for a worker on another host, as its agent takes it: a URL as it is, a path as written
 * (the agent resolves it against its own working directory).
 */
export function agentModule(module: string | URL): string {
  return module instanceof URL ? module.href : module;
}

/** tsx is needed in the worker when the runtime or the user's module is TypeScript. */
export function needsTsx(module: string): boolean {
  return fromSource || /\.[cm]?tsx?$/.test(fileURLToPath(module));
}
