import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder } from '../../src/decode/decoder.ts';
import { loadTemplateFile, saveTemplateFile } from '../../src/decode/template-file.ts';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import { collecting, copy, exporter, pcapPayloads, type Rec } from './util.ts';

test('templates and options state survive a restart through the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-tpl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'templates.json');
  const stream = [
    ...iptNetflowStream({ exporters: 2, recordsPerDatagram: 20, count: 60, startMs: 1_700_000_000_000, seed: 5, refreshRate: 1000 }),
  ];
  // First run sees the templates (sent with the first datagram of each node) and saves them.
  const { dec: first } = collecting();
  for (const d of stream.slice(0, 2)) first.decode(d.payload, exporter(d.exporter), d.nowMs);
  await saveTemplateFile(file, first);
  assert.deepEqual(readdirSync(dir), ['templates.json'], 'no temp file left behind');
  // A restarted decoder without the file is blind to the rest of the stream (no template resent) ...
  const { dec: blind, recs: none } = collecting();
  for (const d of stream.slice(2)) blind.decode(d.payload, exporter(d.exporter), d.nowMs);
  assert.equal(none.length, 0);
  // ... and with it decodes every record.
  const recs: Rec[] = [];
  const second = new Decoder((r) => recs.push(copy(r)));
  assert.equal(await loadTemplateFile(file, second, 1_700_000_000_000), true);
  assert.equal(second.stats.templates, first.stats.templates);
  for (const d of stream.slice(2)) second.decode(d.payload, exporter(d.exporter), d.nowMs);
  assert.equal(
    recs.length,
    stream.slice(2).reduce((n, d) => n + d.records, 0),
  );
  assert.equal(second.interfaceName(exporter('10.1.0.2'), 0, 2), 'eth0');
});

test('sampling state is saved too (akvorado multiplesamplingrates: options, then templates, restart, then data)', () => {
  const E = exporter();
  const a = new Decoder(() => {});
  for (const f of [
    'multiplesamplingrates-options-template.pcap',
    'multiplesamplingrates-options-data.pcap',
    'multiplesamplingrates-template.pcap',
  ]) {
    for (const { payload } of pcapPayloads(`akvorado/${f}`)) a.decode(payload, E, 0);
  }
  const saved = JSON.parse(JSON.stringify(a.saveTemplates()));
  const { dec: b, recs } = collecting();
  b.loadTemplates(saved, 0);
  for (const { payload } of pcapPayloads('akvorado/multiplesamplingrates-data.pcap')) b.decode(payload, E, 0);
  assert.equal(
    recs.reduce((n, r) => n + r.packets, 0),
    20 * 2000 + 18 * 4000,
  );
});

test('a missing file is fine; a corrupt one is a clear error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-tpl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = new Decoder(() => {});
  assert.equal(await loadTemplateFile(join(dir, 'nope.json'), d, 0), false);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"format":"netflow-k8s-templates",');
  await assert.rejects(loadTemplateFile(bad, d, 0), /bad\.json is corrupt \(not JSON/);
  writeFileSync(bad, '{"hello":1}');
  await assert.rejects(loadTemplateFile(bad, d, 0), /bad\.json is corrupt \(not a netflow-k8s template snapshot/);
  writeFileSync(
    bad,
    JSON.stringify({
      format: 'netflow-k8s-templates',
      formatVersion: 1,
      exporters: [
        {
          key: 'x|1',
          domains: [
            {
              version: 9,
              sourceId: 0,
              templates: [
                { id: 256, options: false, fields: [[8, 4, 0, 0]] },
                { id: 257, options: false, fields: [['a', 4, 0, 0]] },
              ],
            },
          ],
        },
      ],
    }),
  );
  await assert.rejects(loadTemplateFile(bad, d, 0), /bad field in template 257/);
  assert.equal(d.stats.templates, 0, 'nothing half-loaded from a bad file');
});
