// convoy's own layers over a raw MessagePort or TCP socket, without a cluster: the rungs between the raw
// floor and a cluster call in the one-at-a-time breakdown (bench/breakdown.ts). Loads the convoy build
// named by CONVOY_BENCH_INDEX (the bench's: dist/ or source), through its public advanced exports.
//   convoy-transport   PortTransport / TcpTransport on both ends; a 24-byte frame echoed back (no encoding,
//                      no channel): what the transport itself costs
//   convoy-endpoint    an Endpoint over a Channel over that transport, calling `inc(1)`: a whole convoy call
//                      (encode, batch, flush, dispatch, reply), minus what the cluster adds
import { SingleFlight, pipelined, roundTrips } from '../loops.mjs';
import { INFLIGHT } from './raw-loops.mjs';

import { loadLayers } from '../layers.mjs';

const { DEFAULTS, Channel, Endpoint, PortTransport, TcpTransport, createRemote } = await loadLayers();

const FRAME_BYTES = 24;

function transportOf({ port, socket }) {
  return port ? new PortTransport(port) : new TcpTransport(socket, { maxFrameBytes: DEFAULTS.maxFrameBytes });
}

const ignore = { close() {}, drain() {} };

/** The calling end: `{ rtt(count), pipelined(ms), close() }` (pipelined only for convoy-endpoint). */
export function layerCaller(conn, layer) {
  const transport = transportOf(conn);
  if (layer === 'convoy-transport') {
    const flight = new SingleFlight();
    transport.start({ ...ignore, frame: () => flight.settle() });
    const send = () => transport.send(new Uint8Array(FRAME_BYTES));
    return {
      rtt: (count) => roundTrips(() => flight.call(send), count),
      pipelined: () => Promise.reject(new Error('convoy-transport measures one frame at a time only')),
      close: () => transport.close(),
    };
  }
  const endpoint = new Endpoint(new Channel(transport), {});
  const remote = createRemote(endpoint);
  return {
    rtt: (count) => roundTrips(() => remote.inc(1), count),
    pipelined: (ms) => pipelined(() => remote.inc(1), INFLIGHT, ms),
    close: () => endpoint.channel.close(),
  };
}

/** The answering end. */
export function serveLayer(conn, layer) {
  const transport = transportOf(conn);
  if (layer === 'convoy-transport') {
    transport.start({ ...ignore, frame: (bytes) => transport.send(bytes) });
    return;
  }
  let n = 0;
  new Endpoint(new Channel(transport), { api: { inc: (by) => (n += by) } });
}
