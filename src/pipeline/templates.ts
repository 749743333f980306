/**
 * Templates across restarts. Each receiving thread has its own decoder, and the kernel may hash an
 * exporter to another thread after a restart, so the file holds the union of every thread's
 * templates and every thread starts from all of it (templates of exporters a thread never sees
 * cost a little memory and expire with --template-ttl).
 */
import { readFile, mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../observe/atomic-write.ts';
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { mergeSavedTemplates, type SavedTemplates } from '../decode/saved-state.ts';
import type { Logger } from '../observe/log.ts';
import { ConfigError } from '../config/options.ts';
import { RUN_OPTIONS } from '../config/run-option-table.ts';

/**
 * The file's merges keep a template of any length a decoder may be set to keep (the run option's
 * maximum): each thread's decoder applies its own --max-template-fields as it loads the file.
 * With the decoder's default cap here, templates longer than 512 fields were dropped from the
 * file whatever --max-template-fields said.
 */
const FILE_MAX_TEMPLATE_FIELDS = RUN_OPTIONS.find((o) => o.key === 'maxTemplateFields')?.max ?? 16_383;

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
    // Checked and taken as the decoders will take it.
    const saved = mergeSavedTemplates([JSON.parse(text)], FILE_MAX_TEMPLATE_FIELDS);
    log.info({ file, templates: templateCount(saved) }, 'templates loaded');
    return saved;
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
  return mergeSavedTemplates(snapshots, FILE_MAX_TEMPLATE_FIELDS);
}

/** Merge the threads' snapshots into one file, written atomically (temp file, then rename). */
export async function saveTemplates(file: string, snapshots: readonly unknown[], log: Logger): Promise<SavedTemplates | undefined> {
  try {
    const merged = mergeTemplates(snapshots);
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(merged));
    log.info({ file, templates: templateCount(merged) }, 'templates saved');
    return merged;
  } catch (err) {
    log.error({ file, err: String(err) }, 'templates not saved');
    return undefined;
  }
}

/**
 * Fails the start (naming templatesFile) when the file's directory cannot be written, instead of
 * at the first save a minute later. Creates the directory as the saves would.
 */
export function checkTemplatesDir(file: string | undefined): void {
  if (file === undefined) return;
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError('templatesFile', `directory ${dir} is not writable: ${(err as Error).message}`);
  }
  // A file that is there but cannot be read or replaced would be overwritten blind, or never saved.
  let st: Stats;
  try {
    st = statSync(file);
  } catch {
    return;
  }
  if (!st.isFile()) throw new ConfigError('templatesFile', `${file} is not a regular file`);
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new ConfigError('templatesFile', `${file} cannot be read and written: ${(err as Error).message}`);
  }
}

/**
 * The templates file's keeper: what the file holds, and when each template was last held by a
 * thread. A save never writes less than the file held unless the missing templates really expired
 * (no thread held them for --template-ttl): a thread that could not answer, or a restart that lost
 * a thread's state, must not erase what the exporters will not resend for half an hour.
 */
export class TemplatesFile {
  readonly #file: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  #held: SavedTemplates | undefined;
  readonly #lastHeld = new Map<string, number>();

  constructor(file: string, ttlMs: number, log: Logger, loaded: SavedTemplates | undefined, nowMs = Date.now()) {
    this.#file = file;
    this.#ttlMs = ttlMs;
    this.#log = log;
    this.#held = loaded;
    // Loaded templates get a full lifetime, as the decoders give them.
    if (loaded) for (const k of templateKeys(loaded)) this.#lastHeld.set(k, nowMs);
  }

  /** Writes the union of the threads' snapshots and the file's templates that have not expired. */
  async save(snapshots: readonly unknown[], nowMs = Date.now()): Promise<void> {
    let fresh: SavedTemplates;
    try {
      fresh = mergeTemplates(snapshots);
    } catch (err) {
      this.#log.error({ file: this.#file, err: String(err) }, 'templates not saved');
      return;
    }
    const freshKeys = new Set(templateKeys(fresh));
    for (const k of freshKeys) this.#lastHeld.set(k, nowMs);
    // Deleting the entry being visited is safe in a Map's iteration.
    for (const [k, t] of this.#lastHeld) if (nowMs - t > this.#ttlMs) this.#lastHeld.delete(k);
    const carried = this.#held ? keepTemplates(this.#held, (k) => this.#lastHeld.has(k) && !freshKeys.has(k)) : undefined;
    const n = carried ? templateCount(carried) : 0;
    if (n > 0)
      this.#log.info({ file: this.#file, templates: n }, 'templates no thread reported now are kept from the file until they expire');
    const saved = await saveTemplates(this.#file, carried ? [carried, fresh] : [fresh], this.#log);
    if (saved) this.#held = saved;
  }
}

type SavedExporter = SavedTemplates['exporters'][number];
type SavedDomain = SavedExporter['domains'][number];

/** A template's key: exporter, version, domain, template ID. */
function templateKey(e: SavedExporter, d: SavedDomain, id: number): string {
  return `${e.key}\u0000${d.version}\u0000${d.sourceId}\u0000${id}`;
}

/** One key per template. */
function templateKeys(saved: SavedTemplates): string[] {
  const out: string[] = [];
  for (const e of saved.exporters) for (const d of e.domains) for (const t of d.templates) out.push(templateKey(e, d, t.id));
  return out;
}

/** The templates of a snapshot that `keep` accepts (options state goes with them). */
function keepTemplates(saved: SavedTemplates, keep: (key: string) => boolean): SavedTemplates {
  return {
    ...saved,
    exporters: saved.exporters
      .map((e) => ({
        ...e,
        domains: e.domains
          .map((d) => ({ ...d, templates: d.templates.filter((t) => keep(templateKey(e, d, t.id))) }))
          .filter((d) => d.templates.length > 0),
      }))
      .filter((e) => e.domains.length > 0),
  };
}

export function templateCount(saved: SavedTemplates): number {
  let n = 0;
  for (const e of saved.exporters) for (const d of e.domains) n += d.templates.length;
  return n;
}
