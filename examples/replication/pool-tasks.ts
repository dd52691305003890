// Tasks for the pooled path: a stand-in for any stateless step (validation, enrichment) whose duration
// varies from call to call.
import type { Write } from './replica.js';

export function validate(write: Write): Write {
  const spin = Date.now() + Math.floor(Math.random() * 3);
  while (Date.now() < spin);
  return write;
}
