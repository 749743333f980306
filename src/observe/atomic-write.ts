/**
 * A file written whole or not at all: to a temp file beside it, then renamed over it, so a crash
 * or a full disk mid-write never leaves a half file for the next start to read. The temp file is
 * removed when anything fails, so failed writes do not pile up.
 */
import { rename, unlink, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(path: string, data: string, opts: { mode?: number } = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, data, opts.mode === undefined ? {} : { mode: opts.mode });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
