/**
 * node:crypto, loaded on first use rather than with the module that needs it: every worker loads the
 * transports (core.js), and one that never authenticates a TCP peer (tcp-handshake.ts) nor signs a NATS
 * message (nats-wire.ts), most of them, does not pay for loading it at its start (~1.4 ms of CPU each).
 */
export const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
