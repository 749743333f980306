/**
 * Templates on disk, so a restarted collector is not blind until every exporter resends its
 * templates (ipt-netflow: every 20 packets or 30 minutes). The file is the JSON snapshot from
 * Decoder.saveTemplates(), written atomically (temp file + rename) so a crash mid-write never
 * leaves a half file behind.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../observe/atomic-write.ts';
import type { Decoder } from './decoder.ts';
import type { SavedTemplates } from './saved-state.ts';

export async function saveTemplateFile(path: string, decoder: Decoder): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(decoder.saveTemplates())}\n`, { mode: 0o644 });
}

/**
 * Loads templates saved by saveTemplateFile into `decoder`. A missing file is fine (first
 * start): returns false. A file that is not a valid snapshot throws an error naming the file.
 */
export async function loadTemplateFile(path: string, decoder: Decoder, nowMs: number): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new Error(`template file ${path}: ${(err as Error).message}`);
  }
  let saved: SavedTemplates;
  try {
    saved = JSON.parse(text) as SavedTemplates;
  } catch (err) {
    throw new Error(`template file ${path} is corrupt (not JSON: ${(err as Error).message})`);
  }
  try {
    decoder.loadTemplates(saved, nowMs);
  } catch (err) {
    throw new Error(`template file ${path} is corrupt (${(err as Error).message})`);
  }
  return true;
}
