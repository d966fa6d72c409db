/**
 * Progress lines for long steps: a line when a step starts, a heartbeat every few
 * seconds while it runs (so a cold build never looks hung), and the elapsed time at the end.
 */
export interface Progress {
  step<T>(title: string, work: (update: (detail: string) => void) => Promise<T>): Promise<T>;
  info(message: string): void;
}

export function consoleProgress(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Progress {
  return {
    async step(title, work) {
      const started = Date.now();
      let detail = '';
      write(`▶ ${title}`);
      const heartbeat = setInterval(() => {
        const elapsed = Math.round((Date.now() - started) / 1000);
        write(`  … ${title} (${elapsed}s${detail ? `, ${detail}` : ''})`);
      }, 10_000);
      heartbeat.unref();
      try {
        const result = await work((next) => {
          detail = next;
        });
        write(`✔ ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
        return result;
      } catch (error) {
        write(`✖ ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
        throw error;
      } finally {
        clearInterval(heartbeat);
      }
    },
    info(message) {
      write(message);
    },
  };
}

export const silentProgress: Progress = {
  step: (_title, work) => work(() => undefined),
  info: () => undefined,
};
