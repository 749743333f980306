/**
 * Templates across restarts. Each receiving thread has its own decoder, and the kernel may hash an
 * exporter to another thread after a restart, so the file holds the union of every thread's
 * templates and every thread starts from all of it (templates of exporters a thread never sees
 * cost a little memory and expire with --template-ttl).
 */
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Decoder, type SavedTemplates } from '../decode/decoder.ts';
import type { Logger } from '../observe/log.ts';

/**
 * The file's own decoders only carry what the threads' bounded decoders held (and each thread
 * applies its caps again on load): no cap of theirs may drop a template on the way.
 */
const UNBOUNDED = { maxExporters: Infinity, stateBudgetBytes: Infinity, exporterShareBytes: Infinity, maxTemplatesPerExporter: Infinity } as const;

/** The saved snapshot to hand to every thread, or undefined (no file, or nothing usable in it). */
export async function loadTemplates(file: string | undefined, log: Logger): Promise<SavedTemplates | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err: String(err) }, 'templates file not readable');
    return undefined;
  }
  // A corrupt file is reported and ignored: templates come back with the exporters' next refresh.
  try {
    const saved = JSON.parse(text) as SavedTemplates;
    const d = new Decoder(() => {}, UNBOUNDED);
    d.loadTemplates(saved, Date.now());
    log.info({ file, templates: d.stats.templates }, 'templates loaded');
    return d.saveTemplates();
  } catch (err) {
    log.warn({ file, err: String(err) }, 'templates file ignored');
    return undefined;
  }
}

/**
 * The union of several snapshots (threads', the file's); where two hold the same template, the
 * later one's wins. Throws on a snapshot that is not one of ours.
 */
export function mergeTemplates(snapshots: readonly unknown[]): SavedTemplates {
  const d = new Decoder(() => {}, UNBOUNDED);
  const now = Date.now();
  for (const s of snapshots) if (s !== undefined) d.loadTemplates(s as SavedTemplates, now);
  return d.saveTemplates();
}

/** Merge the threads' snapshots into one file, written atomically (temp file, then rename). */
export async function saveTemplates(file: string, snapshots: readonly unknown[], log: Logger): Promise<void> {
  try {
    const merged = mergeTemplates(snapshots);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(merged));
    await rename(tmp, file);
    log.info({ file, templates: templateCount(merged) }, 'templates saved');
  } catch (err) {
    log.error({ file, err: String(err) }, 'templates not saved');
  }
}

function templateCount(saved: SavedTemplates): number {
  let n = 0;
  for (const e of saved.exporters) for (const d of e.domains) n += d.templates.length;
  return n;
}
