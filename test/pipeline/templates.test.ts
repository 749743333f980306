/**
 * The templates file across saves: a save never writes less than the file held unless templates
 * expired, and a failed save leaves no temp file behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Decoder } from '../../src/decode/decoder.ts';
import type { SavedTemplates } from '../../src/decode/saved-state.ts';
import { mergeTemplates, saveTemplates, TemplatesFile, templateCount } from '../../src/pipeline/templates.ts';
import { encodeIpfix } from '../../src/generate/ipfix.ts';
import { IE, type TemplateSpec } from '../../src/generate/fields.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { podAddress } from '../../src/generate/ipt-netflow-stream.ts';

const quiet = pino({ level: 'silent' });

/** A snapshot holding the ipt-netflow data template of one exporter. */
function snapshot(address: string): SavedTemplates {
  const d = new Decoder(() => {});
  const exp = new IptNetflowExporter({ protocol: 9 });
  const { payload } = exp.pack(
    [{ src4: podAddress(1), dst4: podAddress(2), srcPort: 40000, dstPort: 80, proto: 6, packets: 1, bytes: 1, startMs: 0, endMs: 1 }],
    0,
    1000,
  );
  d.decode(payload, { address, port: 9995, key: `${address}|9995` }, 1000);
  return d.saveTemplates();
}

const fileCount = (file: string) => templateCount(JSON.parse(readFileSync(file, 'utf8')) as SavedTemplates);

test('a save with less than the file held keeps the rest until it expires', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpl-keep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'templates.json');
  const a = snapshot('10.0.0.1');
  const b = snapshot('10.0.0.2');
  assert.ok(templateCount(a) > 0);
  const keeper = new TemplatesFile(file, 60_000, quiet, undefined, 0);
  await keeper.save([a, b], 0);
  const both = fileCount(file);
  assert.equal(both, templateCount(a) + templateCount(b));
  // A thread that could not answer: its snapshot is missing; the file keeps its templates.
  await keeper.save([a, undefined], 30_000);
  assert.equal(fileCount(file), both, 'nothing erased by a missing snapshot');
  await keeper.save([], 59_000);
  assert.equal(fileCount(file), both, 'an empty answer erases nothing either');
  // Past the TTL since any thread last held b's templates: they really expired.
  await keeper.save([a], 61_000);
  assert.equal(fileCount(file), templateCount(a));
});

test('templates loaded from the file count as held at start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpl-keep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'templates.json');
  const a = snapshot('10.0.0.1');
  const keeper = new TemplatesFile(file, 60_000, quiet, a, 0);
  await keeper.save([undefined], 1000);
  assert.equal(fileCount(file), templateCount(a));
});

test('a failed save leaves no temp file behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tpl-tmp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The target is a directory: the temp file is written, the rename fails.
  const file = join(dir, 'templates.json');
  mkdirSync(file);
  assert.equal(await saveTemplates(file, [snapshot('10.0.0.1')], quiet), undefined);
  assert.deepEqual(readdirSync(dir), ['templates.json']);
});

test('the file keeps templates longer than the default 512 fields for decoders set to take them', () => {
  // 600 fields: only a decoder run with --max-template-fields 600 or more keeps it.
  const spec: TemplateSpec = {
    id: 300,
    fields: [{ id: IE.IN_BYTES, length: 4 }, ...Array.from({ length: 599 }, (_, i) => ({ id: 1000 + i, length: 1 }))],
  };
  const message = encodeIpfix({ exportTimeSecs: 1, sequence: 0, observationDomainId: 1 }, [{ kind: 'templates', templates: [spec] }]);
  const wide = new Decoder(() => {}, { maxTemplateFields: 1000 });
  wide.decode(message, { address: '10.0.0.9', port: 4739, key: '10.0.0.9|4739' }, 1000);
  assert.equal(wide.stats.templates, 1);
  const merged = mergeTemplates([wide.saveTemplates()]);
  assert.equal(templateCount(merged), 1, 'kept through the merge');
  const again = new Decoder(() => {}, { maxTemplateFields: 1000 });
  again.loadTemplates(merged, 2000);
  assert.equal(again.stats.templates, 1, 'and loaded by a decoder set as the run was');
  const narrow = new Decoder(() => {});
  narrow.loadTemplates(merged, 2000);
  assert.equal(narrow.stats.templates, 0, 'a decoder at the default cap applies its own when it loads');
});
