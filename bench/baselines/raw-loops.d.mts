/// <reference types="node" />
import type { Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import type { Latency } from '../loops.mjs';

export type PortProto = 'clone' | 'msgpackr' | 'records' | 'birpc' | 'comlink';
export type SocketProto = 'msgpackr' | 'records';

export interface RawCaller {
  rtt(count: number): Promise<Latency>;
  pipelined(durationMs: number): Promise<number>;
  close(): void;
}

export const INFLIGHT: number;
export const BATCH: number;
export function portCaller(port: MessagePort, proto: PortProto): RawCaller;
export function socketCaller(socket: Socket, proto: SocketProto): RawCaller;
export function servePort(port: MessagePort, proto: PortProto): void;
export function serveSocket(socket: Socket, proto: SocketProto): void;
