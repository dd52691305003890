/**
 * An error from the system (a listen, a read) or from a check of what it gave, named after the option
 * that led to it: `listen EADDRNOTAVAIL` or `ENOENT: no such file or directory` alone does not say which
 * of the user's settings was wrong. `code`, `errno` and `syscall` stay, so code that matches on them
 * still does, and the original is the `cause`. A TypeError stays one.
 */
export function namedError(what: string, error: unknown): Error {
  const original = error as NodeJS.ErrnoException;
  const message = `${what}: ${original instanceof Error ? original.message : String(error)}`;
  const wrapped: NodeJS.ErrnoException =
    original instanceof TypeError ? new TypeError(message, { cause: error }) : new Error(message, { cause: error });
  if (original?.code !== undefined) wrapped.code = original.code;
  if (original?.errno !== undefined) wrapped.errno = original.errno;
  if (original?.syscall !== undefined) wrapped.syscall = original.syscall;
  return wrapped;
}
