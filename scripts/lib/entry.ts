// How a process of this project starts one of its TypeScript entry points as a Node process of its own.
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/**
 * Set by the test run to a directory that holds `src/` compiled ahead (test/helpers/bundle.ts). Without it, entries
 * run through tsx, as the npm scripts run them.
 */
export const COMPILED_SOURCES_VARIABLE = 'KYC_COMPILED_SOURCES_DIR';

/**
 * Node's arguments for `entry` (e.g. `src/worker.ts`), after any flags of the caller's. Compiled ahead, the code is
 * what tsx would run (both transform with esbuild), without tsx's loader: that costs about a second of CPU at every
 * start, and a test run starts some fifty processes on two cores.
 */
export function entryArgs(entry: string): string[] {
  const compiled = process.env[COMPILED_SOURCES_VARIABLE];
  if (compiled) return [join(compiled, entry.replace(/\.ts$/, '.js'))];
  return ['--import', 'tsx', join(root, entry)];
}
