import test from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../src/errors.js';
import { FRAME_HEADER_BYTES, FrameDecoder, frameHeader } from '../src/protocol/framing.js';

function stream(frames: readonly Uint8Array[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => [frameHeader(f.byteLength), f]));
}

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

test('frameHeader is a u32 big-endian length', (t) => {
  t.deepEqual([...frameHeader(0)], [0, 0, 0, 0]);
  t.deepEqual([...frameHeader(0x01020304)], [1, 2, 3, 4]);
  t.is(frameHeader(5).length, FRAME_HEADER_BYTES);
});

test('any chunking of a frame stream yields the same frames, in order (fast-check)', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 60 }),
      (frames, offsets) => {
        const decoder = new FrameDecoder(1024);
        const out: Buffer[] = [];
        for (const chunk of cut(stream(frames), offsets)) out.push(...decoder.push(chunk));
        t.is(decoder.buffered, 0);
        return out.length === frames.length && out.every((frame, i) => Buffer.from(frames[i]!).equals(frame));
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('one byte at a time, and all frames in one chunk, both work', (t) => {
  const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(1000, 7)];
  const bytes = stream(frames);
  const oneByOne = new FrameDecoder(4096);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(...oneByOne.push(bytes.subarray(i, i + 1)));
  t.deepEqual(out, frames);
  t.deepEqual(new FrameDecoder(4096).push(bytes), frames);
});

test('a partial frame is held, not returned, and counted in `buffered`', (t) => {
  const decoder = new FrameDecoder(100);
  t.deepEqual(decoder.push(Buffer.concat([frameHeader(10), Buffer.alloc(3)])), []);
  t.is(decoder.buffered, 3);
  t.deepEqual(decoder.push(Buffer.alloc(2)), []);
  t.deepEqual(decoder.push(Buffer.alloc(5, 1)), [Buffer.concat([Buffer.alloc(5), Buffer.alloc(5, 1)])]);
  t.is(decoder.buffered, 0);
});

test('`partial` says a frame has begun: bytes of it held, or only its length read', (t) => {
  const decoder = new FrameDecoder(100);
  t.false(decoder.partial);
  decoder.push(frameHeader(10));
  t.is(decoder.buffered, 0);
  t.true(decoder.partial, 'its length read, none of its body');
  decoder.push(Buffer.alloc(4));
  t.true(decoder.partial);
  t.is(decoder.push(Buffer.alloc(6)).length, 1);
  t.false(decoder.partial);
  decoder.push(frameHeader(10).subarray(0, 2));
  t.true(decoder.partial, 'half its length');
});

test('a frame of exactly maxFrameBytes is accepted; one byte more is a ProtocolError', (t) => {
  t.is(new FrameDecoder(64).push(stream([Buffer.alloc(64)])).length, 1);
  t.throws(() => new FrameDecoder(64).push(frameHeader(65)), { instanceOf: ProtocolError });
});

test('an oversized length is refused from its header alone, before any body is buffered', (t) => {
  const decoder = new FrameDecoder(1 << 20);
  // The header arrives split; the error comes as soon as it is complete, with nothing else sent.
  t.deepEqual(decoder.push(Buffer.from([0xff, 0xff])), []);
  const error = t.throws(() => decoder.push(Buffer.from([0xff, 0xff])), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_CONVOY_PROTOCOL');
});

test('frames before an oversized one are returned by earlier pushes', (t) => {
  const decoder = new FrameDecoder(8);
  t.deepEqual(decoder.push(stream([Buffer.from('ok')])), [Buffer.from('ok')]);
  t.throws(() => decoder.push(frameHeader(9)), { instanceOf: ProtocolError });
});

test('a chunk that is exactly one frame is that frame; after a header alone, the next chunk is its body, whatever it looks like', (t) => {
  const decoder = new FrameDecoder(100);
  for (const body of [Buffer.from('one'), Buffer.from('two!'), Buffer.alloc(100, 9)]) t.deepEqual(decoder.push(stream([body])), [body]);
  // A body that itself reads as a length-prefixed frame: it must not be taken for one.
  const body = Buffer.concat([frameHeader(4), Buffer.from('fake')]);
  t.deepEqual(decoder.push(frameHeader(body.length)), []);
  t.deepEqual(decoder.push(body), [body]);
  // maxFrames 0 takes nothing, even a whole frame.
  t.deepEqual(decoder.push(stream([Buffer.from('kept')]), 0), []);
  t.is(decoder.buffered, 8);
  t.throws(() => new FrameDecoder(10).push(stream([Buffer.alloc(11)])), { instanceOf: ProtocolError });
});
