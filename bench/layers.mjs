// The layers under convoy's user API, from the same build as CONVOY_BENCH_INDEX (dist/ or source): what
// the layer-by-layer rungs and the stamps wrap. They live at `convoy/internals`, and the raw TCP transport
// (the bench measures it alone, without the handshake) in its own module.
export async function loadLayers(index = process.env.CONVOY_BENCH_INDEX) {
  const beside = (file) => import(new URL(file, index).href);
  const ext = index.endsWith('.ts') ? 'ts' : 'js';
  // The bundle: `convoy/internals` is internals.js beside convoy.js; the raw TCP transport is in core.js,
  // which holds every module a worker runs.
  const [internals, tcp, options] = index.endsWith('/bundle/convoy.js')
    ? await Promise.all([beside('./internals.js'), beside('./core.js'), import(index)])
    : await Promise.all([beside(`./internals.${ext}`), beside(`./transport/tcp.${ext}`), beside(`./options.${ext}`)]);
  return { ...internals, TcpTransport: tcp.TcpTransport, DEFAULTS: options.DEFAULTS };
}
