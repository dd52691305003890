/**
 * Queues kept as an array and a head index (the wait queue, the serial queue) drop what their head has
 * passed now and then, rather than Array#shift on every item: a long queue drains in O(n), and the array
 * never holds more than about as much again as is still queued (plus 1024).
 */
export function shouldCompact(head: number, length: number): boolean {
  return head > 1024 && head * 2 > length;
}
