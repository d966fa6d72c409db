import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A Prometheus file_sd entry: `[{"targets":["127.0.0.1:PORT"],"labels":{…}}]`. */
export function fileSdContent(target: string, labels: Record<string, string>): string {
  return `${JSON.stringify([{ targets: [target], labels }], null, 2)}\n`;
}

/** File names Prometheus' `*.json` glob accepts; anything unusual in an id becomes `_`. */
export function targetFileName(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^a-zA-Z0-9_.-]/g, '_')}.json`;
}

/**
 * Scrape targets registered with Prometheus through file-based service discovery (the dev
 * harness reads `<dir>/*.json` every second). Without a directory, registering does nothing.
 */
export class ScrapeTargets {
  readonly #dir: string | undefined;
  readonly #prefix: string;
  readonly #files = new Set<string>();

  constructor(dir: string | undefined, prefix: string) {
    this.#dir = dir;
    this.#prefix = prefix;
  }

  async set(id: string, target: string, labels: Record<string, string>): Promise<void> {
    if (!this.#dir) return;
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, targetFileName(this.#prefix, id));
    // Write then rename so Prometheus never reads half a file; `.tmp` is outside its glob.
    await writeFile(`${file}.tmp`, fileSdContent(target, labels));
    await rename(`${file}.tmp`, file);
    this.#files.add(file);
  }

  async remove(id: string): Promise<void> {
    if (!this.#dir) return;
    const file = join(this.#dir, targetFileName(this.#prefix, id));
    this.#files.delete(file);
    await rm(file, { force: true });
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.#files].map((file) => rm(file, { force: true })));
    this.#files.clear();
  }
}
