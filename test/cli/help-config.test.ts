/**
 * `--config FILE` is an option of every command, so every `--help` lists it with the variable
 * that can name the file instead; replay's variable carries its REPLAY_ prefix like its other
 * options, so a collector's NETFLOW_K8S_CONFIG never reaches an offline replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import { writePcapFile } from '../../src/generate/pcap-writer.ts';
import { runCli } from '../support/cli.ts';

for (const [command, variable] of [
  ['run', 'NETFLOW_K8S_CONFIG'],
  ['demo', 'NETFLOW_K8S_CONFIG'],
  ['nodegraph', 'NETFLOW_K8S_CONFIG'],
  ['replay', 'NETFLOW_K8S_REPLAY_CONFIG'],
]) {
  test(`${command} --help lists --config FILE and ${variable}`, async () => {
    const r = await runCli([command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}--config FILE\n {6}YAML file of settings.*\[(\w+)\]$/m);
    assert.equal(/^ {2}--config FILE\n.*\[(\w+)\]$/m.exec(r.stdout)![1], variable);
  });
}

test("replay reads its YAML from NETFLOW_K8S_REPLAY_CONFIG and ignores a collector's NETFLOW_K8S_CONFIG", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-help-config-'));
  try {
    const PCAP = join(dir, 'nf.pcap');
    writePcapFile(
      PCAP,
      [...iptNetflowStream({ count: 20, startMs: 1_790_000_000_000 })].map((d) => ({
        tsMs: d.nowMs,
        srcAddr: d.exporter,
        srcPort: 2055,
        payload: d.payload,
      })),
    );
    // A collector's file: keys replay does not take, so reading it would be an error.
    const collector = join(dir, 'collector.yaml');
    writeFileSync(collector, 'listen: 0.0.0.0:2055\nworkers: 2\n');
    const ignored = await runCli(['replay', '--format', 'none', '--summary', PCAP], { NETFLOW_K8S_CONFIG: collector });
    assert.equal(ignored.code, 0, ignored.stderr);
    const own = join(dir, 'replay.yaml');
    writeFileSync(own, 'format: none\nsummary: true\n');
    const r = await runCli(['replay', PCAP], { NETFLOW_K8S_REPLAY_CONFIG: own });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'format none from the file');
    assert.match(r.stderr, /"records":\d+/, 'summary from the file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
