/**
 * The cluster secret and NATS credentials come from files (or standard input), never from the command
 * line or the environment, where other users and crash reports could read them.
 */
import { readFile } from 'node:fs/promises';

/** Shorter secrets are refused: the secret is all that stands between a NATS user and running code. */
const MIN_SECRET_BYTES = 16;

/** The secret in `file` (`-` reads standard input), without a trailing newline. */
export async function readSecret(file: string, what = 'secret'): Promise<Uint8Array> {
  const bytes = file === '-' ? await readStdin() : await readFile(file);
  const secret = trimNewline(bytes);
  if (what === 'secret' && secret.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(
      `The ${what} in ${file === '-' ? 'standard input' : file} is ${secret.byteLength} bytes; at least ${MIN_SECRET_BYTES} are needed (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  return secret;
}

function trimNewline(bytes: Buffer): Uint8Array {
  let end = bytes.byteLength;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return new Uint8Array(bytes.subarray(0, end));
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
