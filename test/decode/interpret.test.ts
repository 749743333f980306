/**
 * The interpreted reader (used when a datagram's compile budget is spent) must give exactly what
 * the compiled readers give, on every capture we have; and a flood of distinct templates is
 * interpreted rather than compiled beyond the budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { encodeRecord, type TemplateSpec } from '../../src/generate/fields.ts';
import { encodeIpfix } from '../../src/generate/ipfix.ts';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import { collecting, dat, exporter, pcapPayloads, TESTDATA } from './util.ts';

function allDatagrams(): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  out.push(
    readdirSync(`${TESTDATA}/logstash-codec-netflow`)
      .sort()
      .map((f) => dat(`logstash-codec-netflow/${f}`)),
  );
  for (const dir of ['akvorado', 'graylog-plugin-netflow', 'generated']) {
    for (const f of readdirSync(`${TESTDATA}/${dir}`).sort()) {
      if (f.endsWith('.pcap') && !f.includes('traffic')) out.push(pcapPayloads(`${dir}/${f}`).map((p) => p.payload));
    }
  }
  for (const protocol of [9, 10] as const)
    out.push([...iptNetflowStream({ protocol, count: 20, startMs: 1_700_000_000_000 })].map((d) => d.payload));
  return out;
}

test('interpreted and compiled readers give the same records on every capture', () => {
  let total = 0;
  for (const datagrams of allDatagrams()) {
    const a = collecting();
    const b = collecting({ compilesPerDatagram: 0 });
    for (const d of datagrams) {
      a.dec.decode(d, exporter(), 0);
      b.dec.decode(d, exporter(), 0);
    }
    assert.deepEqual(b.recs, a.recs);
    assert.equal(b.dec.stats.readersCompiled, 0);
    assert.equal(b.dec.stats.errors.truncated_record, a.dec.stats.errors.truncated_record);
    total += a.recs.length;
  }
  assert.ok(total > 1000);
});

test('a flood of distinct templates compiles at most the budget per datagram and still decodes every record', () => {
  const templates: TemplateSpec[] = [];
  for (let i = 0; i < 300; i++)
    templates.push({
      id: 256 + i,
      fields: [
        { id: 2, length: 4 },
        { id: 1000 + i, length: 2 },
        { id: 1, length: 4 },
      ],
    });
  const tplMsg = encodeIpfix({ exportTimeSecs: 1, sequence: 0, observationDomainId: 77 }, [{ kind: 'templates', templates }]);
  const dataMsg = encodeIpfix(
    { exportTimeSecs: 1, sequence: 0, observationDomainId: 77 },
    templates.map((t) => ({ kind: 'data' as const, templateId: t.id, records: [encodeRecord(t, { 2: 1, 1: 10 })] })),
  );
  const { dec, recs } = collecting({ compilesPerDatagram: 8 });
  dec.decode(tplMsg, exporter(), 0);
  assert.equal(dec.stats.readersCompiled, 0, 'templates are compiled on first use, not on arrival');
  dec.decode(dataMsg, exporter(), 0);
  assert.equal(recs.length, 300);
  assert.ok(dec.stats.readersCompiled <= 8);
  assert.equal(dec.stats.setsInterpreted + dec.stats.readersCompiled, 300);
  assert.deepEqual([recs[0].packets, recs[0].bytes, recs[299].packets], [1, 10, 1]);
});
