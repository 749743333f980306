/**
 * `npm run bench`: imports every bench/*.bench.ts in name order and runs its exported main().
 * Each bench prints its own figures; keep each one to a few seconds.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`# ${f}`);
  try {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { main?: () => Promise<void> | void };
    if (typeof mod.main !== 'function') throw new Error('exports no main()');
    await mod.main();
  } catch (err) {
    failed++;
    console.error(`${f}: ${(err as Error).stack ?? String(err)}`);
  }
}
if (failed > 0) process.exitCode = 1;
