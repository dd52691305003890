// Callee for the raw TCP baselines, run with child_process.fork: listens on 127.0.0.1 (ephemeral port,
// told to the parent over IPC), takes one connection, and answers every u32-length-prefixed msgpackr frame:
// one call gets one reply frame, a batch (array) gets one frame holding the array of replies.
// argv[2] === 'records' switches msgpackr records on. Exits when the parent goes away.
import net from 'node:net';
import { FrameReader, createCodec, createCounter } from './wire.mjs';

const codec = createCodec(process.argv[2] === 'records');
const answer = createCounter();

const server = net.createServer({ noDelay: true }, (socket) => {
  server.close();
  socket.setNoDelay(true);
  const reader = new FrameReader((payload) => {
    const calls = codec.decode(payload);
    socket.write(codec.encodeFrame(Array.isArray(calls) ? calls.map(answer) : answer(calls)));
  });
  socket.on('data', (chunk) => reader.push(chunk));
  socket.on('close', () => process.exit(0));
  socket.on('error', () => process.exit(1));
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
