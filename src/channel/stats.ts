import { totalByteLength } from '../protocol/transfer.js';

/** Counters a dashboard shows for one channel. Plain numbers, updated on the hot path without allocation. */
export class ChannelStats {
  messagesSent = 0;
  messagesReceived = 0;
  batchesSent = 0;
  batchesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  /** Bytes of ArrayBuffers moved beside frames instead of being copied into them. */
  bytesTransferredSent = 0;
  bytesTransferredReceived = 0;
  /** Times a data message had to wait for room in the window. */
  waits = 0;
  /** Window cost of received messages whose acknowledgement waits for their handlers to settle (async or serially queued notifies, pool tasks). */
  heldBytes = 0;

  recordSent(messages: number, bytes: number, transferred?: readonly ArrayBuffer[]): void {
    this.messagesSent += messages;
    this.batchesSent++;
    this.bytesSent += bytes;
    if (transferred) this.bytesTransferredSent += totalByteLength(transferred);
  }

  recordReceived(messages: number, bytes: number, transferred?: readonly ArrayBuffer[]): void {
    this.messagesReceived += messages;
    this.batchesReceived++;
    this.bytesReceived += bytes;
    if (transferred) this.bytesTransferredReceived += totalByteLength(transferred);
  }
}
