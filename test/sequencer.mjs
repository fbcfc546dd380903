// The slowest files start first. Jest orders files by their last run's durations, but a fresh clone (as CI runs) has
// none, and then it orders by file size: the chaos test, short to read and long to run, would start last and set the
// suite's wall time on its own.
import Sequencer from '@jest/test-sequencer';

/** Longest first, as measured on a quiet machine; anything else follows in jest's own order. */
const SLOWEST = [
  'chaos',
  'long-waits',
  'exactly-once',
  'kyc-verification',
  'demo',
  'status-reads',
  'deploys',
  'config-errors',
  'workflow-limits',
];

const rank = (test) => {
  const index = SLOWEST.findIndex((name) => test.path.endsWith(`/${name}.test.ts`));
  return index === -1 ? SLOWEST.length : index;
};

export default class SlowestFirst extends Sequencer {
  async sort(tests) {
    return [...(await super.sort(tests))].sort((a, b) => rank(a) - rank(b));
  }
}
