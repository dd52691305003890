// convoy/internals: the pieces under convoy's public API, for people who build on its layers — a
// transport of their own, a channel over it, RPC endpoints without a cluster. Documented in
// docs/internals.md. Not covered by the same stability promise as `convoy`: what changes here is
// listed in the changelog of each release.

// Transports: the narrow waist (send a frame, deliver frames, report close once) and convoy's own.
export type { FrameData, ReceivedFrame, Transport, TransportHandlers, ValueFrame } from './transport/transport.js';
export { createMemoryTransportPair, type MemoryTransportOptions } from './transport/memory.js';
export { PortTransport } from './transport/port.js';
export { ShmTransport, createShmPair } from './transport/shm.js';
// TCP only authenticated: both sides prove the cluster secret before any frame is handled.
export { dialTcp, acceptTcp, type DialTcpOptions, type AcceptTcpOptions, type AcceptedTcp } from './transport/tcp-auth.js';

// A channel (ordering, batching, flow control) over any transport, and RPC over a channel.
export { Channel, type ChannelConfig, type ChannelListener } from './channel/channel.js';
export { Endpoint, type EndpointConfig } from './rpc/endpoint.js';
export { createRemote, type Caller } from './rpc/remote.js';

// The wire.
export { Encoder, Decoder } from './protocol/codec.js';
export { FrameDecoder, frameHeader } from './protocol/framing.js';
export { PROTOCOL_VERSION, Kind, type Message } from './protocol/messages.js';
