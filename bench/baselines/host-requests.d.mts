import type { TransferListItem } from 'node:worker_threads';

export interface HostRequests {
  /** Resolves once the host has said it is ready. */
  readonly isReady: Promise<void>;
  answer(msg: { ready?: true; id?: number; value?: unknown; error?: string }): void;
  failAll(error: Error): void;
  request<T = unknown>(cmd: Record<string, unknown>, transfer?: TransferListItem[]): Promise<T>;
}

export function hostRequests(post: (cmd: Record<string, unknown>, transfer: TransferListItem[]) => void): HostRequests;
