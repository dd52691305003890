/// <reference types="node" />

export interface CallEnvelope {
  t: 0;
  id: number;
  m: 'inc';
  a: [number];
}

export interface ReplyEnvelope {
  t: 1;
  id: number;
  v: number;
}

export function callEnvelope(id: number): CallEnvelope;
export function callBatch(firstId: number, size: number): CallEnvelope[];
export function createCounter(): (env: CallEnvelope) => ReplyEnvelope;

export interface Codec {
  /** Packed bytes in an ArrayBuffer of their own, ready to transfer. */
  encode(value: unknown): Uint8Array<ArrayBuffer>;
  /** A u32 big-endian length prefix, then the packed bytes. */
  encodeFrame(value: unknown): Buffer;
  decode(bytes: Uint8Array): unknown;
}
export function createCodec(records: boolean): Codec;
/** `bytes` behind a u32 big-endian length prefix, in one buffer: a TCP frame. */
export function lengthPrefixed(bytes: Uint8Array): Buffer;

export class FrameReader {
  constructor(onFrame: (payload: Buffer) => void);
  push(chunk: Buffer): void;
}
