// Progress for long CLI work: a bar on a terminal, a few plain lines otherwise (CI logs, pipes).

import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number): void;
  stop(): void;
}

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(Math.max(total, 1), 0);
    return { update: (value) => bar.update(Math.min(value, Math.max(total, 1))), stop: () => bar.stop() };
  }
  let reported = -1;
  return {
    update(value) {
      const tenth = total > 0 ? Math.floor((value / total) * 10) : 10;
      if (tenth > reported) {
        reported = tenth;
        stream.write(`${label}: ${value}/${total} (${Math.min(100, tenth * 10)}%)\n`);
      }
    },
    stop() {},
  };
}
