/**
 * Where the entry scripts and the worker runtime are. convoy runs from its TypeScript sources (through
 * tsx, in development and tests) or from dist/ (compiled, no tsx at all); a spawned thread or process
 * must load the same flavour as the coordinator.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = import.meta.url;
/** True when this file itself is TypeScript (running under tsx). */
export const fromSource = here.endsWith('.ts');
const ext = fromSource ? '.ts' : '.js';

/** The package root: src/cluster/ → ../../, dist/src/cluster/ → ../../../ */
const root = new URL(fromSource ? '../../' : '../../../', here);

export const threadEntry = new URL('workers/thread.js', root);
export const processEntry = new URL('workers/process.js', root);
export const poolEntry = new URL('workers/pool.js', root);
export const threadRuntime = new URL(`./../worker/thread-main${ext}`, here).href;
export const processRuntime = new URL(`./../worker/process-main${ext}`, here).href;
/** The error classes and their wire form, for pool threads (which load no other part of convoy). */
export const errorsModule = new URL(`./../errors${ext}`, here).href;

/** A user module (path relative to the current directory, or URL) as a file URL string. */
export function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^file:/.test(module)) return new URL(module).href;
  return pathToFileURL(path.resolve(module)).href;
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
