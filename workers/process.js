// Entry script of every convoy worker process. Plain JavaScript so it runs from source and from dist/
// alike; tsx is registered here when the runtime or the user's module is TypeScript. Nothing secret is
// passed in the environment: the bootstrap arrives over IPC.
const runtime = process.env.CONVOY_RUNTIME;
if (process.env.CONVOY_TSX === '1') {
  const { register } = await import('tsx/esm/api');
  register();
}
const { runProcess } = await import(runtime);
runProcess();
