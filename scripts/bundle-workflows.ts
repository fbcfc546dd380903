// Bundles the workflow code ahead of time, so workers load it without running webpack (whose memory the worker's
// heap would keep). usage: tsx scripts/bundle-workflows.ts [output path, default dist/workflow-bundle.js]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type BundleOptions, bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

import { failureConverterPath } from '../src/codec/data-converter.js';

/** Writes the bundle of src/workflows to `output` and returns the path; tests hook webpack's config (bundle.ts). */
export async function bundleWorkflows(
  output: string,
  { webpackConfigHook }: Pick<BundleOptions, 'webpackConfigHook'> = {},
): Promise<string> {
  const workflowsPath = fileURLToPath(new URL('../src/workflows/index.ts', import.meta.url));
  // webpack's report of every module says nothing a caller needs; warnings and errors still show.
  const logger = new DefaultLogger('WARN');
  const { code } = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger, webpackConfigHook });
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, code);
  return output;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const output = process.argv[2] ?? join(import.meta.dirname, '..', 'dist', 'workflow-bundle.js');
  console.log(`workflow bundle written to ${await bundleWorkflows(output)}`);
}
