/**
 * The live heap after full collections, for tests that bound what a structure keeps: a count of
 * bytes, not a time, so it holds on a busy machine.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
// V8 drops the bytecode of functions idle for a few collections: otherwise a test's collections
// would free the code earlier tests ran (a MiB or two) at some measurement and not another.
setFlagsFromString('--no-flush-bytecode');
setFlagsFromString('--no-flush-baseline-code');

/** heapUsed after three full collections. */
export function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}
