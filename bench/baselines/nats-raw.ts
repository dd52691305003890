// Raw `nats` baselines for convoy over NATS: an echo side (request/reply and publish/subscribe) and the
// publish/subscribe loop; request/reply is timed with the ordinary loops (measure.ts) around `request()`.
// Every payload is a fresh buffer: the `nats` client queues the one it is given without copying it.
//
// Run as a program (`node --import tsx bench/baselines/nats-raw.ts URL`, with an IPC channel), it is the
// echo side in a process of its own — another host, as far as NATS can tell — and says 'ready' once it
// answers; it exits when its parent disconnects.

import { fileURLToPath } from 'node:url';
import type { NatsConnection } from 'nats';
import { connectNats } from '../../src/transport/nats-connect.js';

export const RAW_REQUEST_SUBJECT = 'raw.req';
export const RAW_PUBLISH_SUBJECT = 'raw.pub';

/** Answers requests and echoes publishes that carry a reply subject, each with a copy of what came. */
export async function serveRawEcho(connection: NatsConnection): Promise<void> {
  connection.subscribe(RAW_REQUEST_SUBJECT, { callback: (_error, message) => message.respond(message.data.slice()) });
  connection.subscribe(RAW_PUBLISH_SUBJECT, {
    callback: (_error, message) => message.reply && connection.publish(message.reply, message.data.slice()),
  });
  await connection.flush();
}

/** One request/reply of `payloadBytes` to the echo side. */
export function rawRequest(connection: NatsConnection, payloadBytes: number): () => Promise<unknown> {
  return () => connection.request(RAW_REQUEST_SUBJECT, new Uint8Array(payloadBytes), { timeout: 10_000 });
}

/** Raw publish/subscribe with `inflight` messages in flight, each echo that returns sending the next: msg/s. */
export function pubsubPipelined(connection: NatsConnection, payloadBytes: number, inflight: number, windowMs: number): Promise<number> {
  const inbox = `raw.echo.${process.pid}.${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve) => {
    let start = 0;
    let end = 0;
    let outstanding = 0;
    let completed = 0;
    const send = (): void => {
      outstanding++;
      connection.publish(RAW_PUBLISH_SUBJECT, new Uint8Array(payloadBytes), { reply: inbox });
    };
    const subscription = connection.subscribe(inbox, {
      callback: () => {
        completed++;
        outstanding--;
        if (performance.now() < end) send();
        else if (outstanding === 0) {
          subscription.unsubscribe();
          resolve((completed * 1000) / (performance.now() - start));
        }
      },
    });
    // The subscription reaches the server before the first publish whose echo it must see.
    void connection.flush().then(() => {
      start = performance.now();
      end = start + windowMs;
      for (let i = 0; i < inflight; i++) send();
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const connection = await connectNats({ servers: process.argv[2]! }, 'bench raw echo');
  await serveRawEcho(connection);
  process.send!('ready');
  process.on('disconnect', () => void connection.close().finally(() => process.exit(0)));
}
