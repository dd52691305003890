// The asking side of a peer host (peer-host.mjs): each command numbered, each answer `{ id, value }` or
// `{ id, error }` matched to it, and `{ ready: true }` once the host has loaded. Shared by the bench process
// (peer-host.ts, for thread and process hosts) and by a host starting threads of its own (peer-host.mjs).
// Plain .mjs because peer hosts run without tsx.

/** `post(cmd, transfer)` sends one command to the host; feed every message from it to `answer`. */
export function hostRequests(post) {
  const pending = new Map();
  let nextId = 0;
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  return {
    isReady,
    answer(msg) {
      if (msg.ready) {
        ready();
        return;
      }
      const waiting = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error !== undefined) waiting?.reject(new Error(msg.error));
      else waiting?.resolve(msg.value);
    },
    /** The host is gone: every command still unanswered fails with `error`. */
    failAll(error) {
      for (const waiting of pending.values()) waiting.reject(error);
      pending.clear();
    },
    request(cmd, transfer = []) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        post({ ...cmd, id }, transfer);
      });
    },
  };
}
