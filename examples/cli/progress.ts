/** Progress while a run goes: a live bar on a terminal (cli-progress), plain periodic lines otherwise. */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(total: number, label: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {results} transfers | {deaths} deaths`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { results: 0, deaths: 0 });
    return { update: (done, fields) => bar.update(Math.min(done, total), fields), stop: () => bar.stop() };
  }
  let lastPrinted = -Infinity;
  return {
    update(done, fields) {
      // One line a second is enough for a log.
      if (done - lastPrinted < 1000 && done < total) return;
      lastPrinted = done;
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      process.stderr.write(`${label}: ${(done / 1000).toFixed(1)}s/${(total / 1000).toFixed(0)}s ${extra}\n`);
    },
    stop() {},
  };
}
