/**
 * A channel frame: a header `[acked, dataCost]` followed by the batch's messages, each encoded on its
 * own and concatenated (outbox.ts cuts them). Parsing is pure: no state and no I/O.
 */
import { ProtocolError } from '../errors.js';
import type { Decoder } from '../protocol/codec.js';
import type { Message } from '../protocol/messages.js';
import { validateMessage } from '../protocol/validate.js';

export interface ParsedFrame {
  /** Window cost of our data the peer has handled since its last frame. */
  acked: number;
  /** Window cost of the data messages in this frame (what we ack once they are handled). */
  dataCost: number;
  messages: Message[];
}

/**
 * Parses and validates a frame. Each value is checked as it is decoded and the frame is refused at the
 * first bad one (MessagePack expands: one 0x80 byte is a new object). Throws ProtocolError.
 */
export function parseFrame(decoder: Decoder, bytes: Uint8Array, transferred?: readonly ArrayBuffer[]): ParsedFrame {
  let header: [number, number] | undefined;
  const messages: Message[] = [];
  try {
    decoder.decodeEach(
      bytes,
      (value, index) => {
        if (index > 0) {
          messages.push(validateMessage(value));
          return true;
        }
        if (!Array.isArray(value) || value.length !== 2 || !isCount(value[0]) || !isCount(value[1])) {
          throw new ProtocolError('Frame without a valid header');
        }
        header = value as [number, number];
        return true;
      },
      transferred,
    );
  } catch (error) {
    // decodeEach wraps what the callback threw: report the validation error itself when there is one.
    throw error instanceof ProtocolError && error.cause instanceof ProtocolError ? error.cause : error;
  }
  if (!header) throw new ProtocolError('Empty frame');
  return { acked: header[0], dataCost: header[1], messages };
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
