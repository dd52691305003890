// The layers under convoy's user API, from the same build as CONVOY_BENCH_INDEX (dist/ or source): what
// the layer-by-layer rungs and the stamps wrap. They live at `convoy/internals`, and the raw TCP transport
// (the bench measures it alone, without the handshake) in its own module.
export async function loadLayers(index = process.env.CONVOY_BENCH_INDEX) {
  // The bundle the package exports has them all in its one module (src/bundle.ts).
  if (index.endsWith('/bundle/convoy.js')) return import(index);
  const ext = index.endsWith('.ts') ? 'ts' : 'js';
  const [internals, tcp, options] = await Promise.all([
    import(new URL(`./internals.${ext}`, index).href),
    import(new URL(`./transport/tcp.${ext}`, index).href),
    import(new URL(`./options.${ext}`, index).href),
  ]);
  return { ...internals, TcpTransport: tcp.TcpTransport, DEFAULTS: options.DEFAULTS };
}
