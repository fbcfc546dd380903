import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';

import { SEARCH_ATTRIBUTES } from '../../scripts/lib/dev-server.js';
import { ensureTimeSkippingServer } from '../../scripts/setup.mjs';
import { installQuietRuntime } from './temporal.js';

const INDEXED_VALUE_TYPES = { Keyword: 'KEYWORD', Bool: 'BOOL' } as const satisfies Record<
  (typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES],
  string
>;

function indexedValueType(type: keyof typeof INDEXED_VALUE_TYPES) {
  const encoded = encodeSearchAttributeIndexedValueType(INDEXED_VALUE_TYPES[type]);
  if (encoded === undefined) throw new Error(`no indexed value type for search attribute type ${type}`);
  return encoded;
}

/**
 * A `TestWorkflowEnvironment` on Temporal's Java time-skipping test server (installed on first use into `.tools`),
 * with the KYC search attributes registered, as the dev server has them. Call `teardown()` when done.
 *
 * Time only skips while the environment's client awaits a workflow result (`handle.result()`, `execute`) or in
 * `env.sleep`; otherwise it runs at wall-clock speed.
 */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: ensureTimeSkippingServer() } },
  });
  try {
    // The test server rejects an upsert of an unregistered attribute (`search attribute KycStatus is not defined`).
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, indexedValueType(type)]),
      ),
    });
  } catch (error) {
    await env.teardown();
    throw error;
  }
  return env;
}
