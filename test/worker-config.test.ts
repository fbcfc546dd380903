// The worker's configuration: defaults, refusals, and whether its workflow cache fits its heap.
import { describe, expect, it } from '@jest/globals';

import { cacheHeapWarning, loadWorkerConfig } from '../src/worker.js';

const MiB = 2 ** 20;

describe('loadWorkerConfig', () => {
  it('takes the measured defaults (docs/performance.md, figure 4)', () => {
    expect(loadWorkerConfig({ XGATEWAY_API_KEY: 'k' })).toMatchObject({
      WORKER_MAX_CACHED_WORKFLOWS: 500,
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 40,
      WORKER_MAX_CONCURRENT_ACTIVITIES: 200,
    });
  });

  it('refuses a cache size that is not a number, naming the variable', () => {
    expect(() => loadWorkerConfig({ XGATEWAY_API_KEY: 'k', WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(
      /WORKER_MAX_CACHED_WORKFLOWS/,
    );
  });
});

describe('cacheHeapWarning', () => {
  it('is quiet when the default cache fits the heap cap of `npm run worker`', () => {
    expect(cacheHeapWarning(500, 368 * MiB)).toBeUndefined();
  });

  it('names both knobs when the cache would take more than half the heap', () => {
    expect(cacheHeapWarning(2000, 368 * MiB)).toMatch(
      /WORKER_MAX_CACHED_WORKFLOWS=2000 holds about 500 MiB, more than half of the 368 MiB heap: raise node's --max-old-space-size/,
    );
  });
});
