/**
 * When a side taking in a slow frame tells the sender it is alive. The sender's pings (and anything else
 * it sends) wait behind the frame it is sending, so without word from the receiver it would take the
 * receiver for hung. Once a frame has been arriving for KEEPALIVE_MS, one keep-alive at most that often;
 * an ordinary frame split over a few reads sends none.
 */
export const KEEPALIVE_MS = 200;

export class Keepalive {
  /** Since when the frame now arriving has been arriving. */
  #since: number | undefined;
  #sentAt = 0;

  /** Part of a frame arrived at `now`: whether a keep-alive is due (it is then counted as sent). */
  due(now: number): boolean {
    this.#since ??= now;
    if (now - this.#since < KEEPALIVE_MS || now - this.#sentAt < KEEPALIVE_MS) return false;
    this.#sentAt = now;
    return true;
  }

  /** A whole frame arrived. */
  frameDone(): void {
    this.#since = undefined;
  }
}
