/// <reference types="node" />
import type { Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import type { Latency } from '../loops.mjs';

export type LayerProto = 'convoy-transport' | 'convoy-endpoint';
export type FloorProto = 'records-rpc' | 'minimal-rpc';
export type PortProto = 'clone' | 'msgpackr' | 'records' | 'birpc' | 'comlink' | 'clone-rpc' | FloorProto | LayerProto;
export type SocketProto = 'msgpackr' | 'records' | FloorProto | LayerProto;

export interface RawCaller {
  rtt(count: number): Promise<Latency>;
  pipelined(durationMs: number): Promise<number>;
  close(): void;
}

export const INFLIGHT: number;
export const BATCH: number;
export function portCaller(port: MessagePort, proto: PortProto): Promise<RawCaller>;
export function socketCaller(socket: Socket, proto: SocketProto): Promise<RawCaller>;
export function servePort(port: MessagePort, proto: PortProto): Promise<void>;
export function serveSocket(socket: Socket, proto: SocketProto): Promise<void>;
