// The chaos scenario "everything at once" (docs/reliability.md), smaller than its quick run, on its own real stack:
// workers killed and restarted, the dev server killed and restarted on its database file, the receiver down, a rolling
// restart, and a vendor that fails on both endpoints, while verifications of every kind run. `npm run chaos` runs all
// seven.
import { describe, expect, it } from '@jest/globals';

import { runScenario } from '../bench/chaos/run.js';
import { SCENARIOS } from '../bench/chaos/scenarios.js';
import { type Evidence, judge, type Verification } from '../bench/chaos/verifications.js';
import { testLogDir } from './helpers/logs.js';

/** The moments of the faults are drawn from this seed; CHAOS_SEED repeats a run. */
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Two of each of the scenario's seven kinds. */
const verifications = 14;

it(
  'loses, strands, doubles and misjudges no verification when everything fails at once',
  async () => {
    const scenario = SCENARIOS.find((candidate) => candidate.name === 'everything at once');
    if (!scenario) throw new Error('no "everything at once" scenario');
    const logDir = await testLogDir('chaos');
    // Smaller than `npm run chaos -- --quick`: every fault still lands, on two customers of each kind, with shorter
    // slow POSTs and a shorter receiver outage, which still spans the server's kill and restart.
    const figures = await runScenario(scenario, {
      quick: true,
      seed,
      logDir,
      verifications,
      sizes: { slowPostMs: 5_000, receiverDownMs: 10_000 },
    });

    // The seed and the logs' place come with any failure, so the run can be repeated and read.
    expect({ seed, logDir, problems: figures.problems }).toEqual({ seed, logDir, problems: [] });
    expect(figures).toMatchObject({
      started: verifications,
      completed: verifications,
      lost: 0,
      stuck: 0,
      doublePosts: 0,
      postsWhileRunning: 0,
      wrongOutcomes: 0,
    });
    // Every fault happened: none was skipped because its moment never came.
    expect(figures.injected).toEqual({ workerKills: 2, receiverOutages: 1, serverKills: 1, gracefulRestarts: 2 });
    // Soft and bounce customers need the merchant's resubmit, and vendor 5xx before acceptance add more.
    expect(figures.resubmissions).toBeGreaterThanOrEqual(verifications / 3);
  },
  15 * 60_000,
);

describe('the chaos suite’s judgement of one verification', () => {
  const approve: Verification = {
    customerId: 'approve-1',
    kind: { name: 'approve', prefix: 'approve-', expected: 'VERIFIED', script: {} },
  };
  const T0 = Date.parse('2026-11-27T00:00:00Z');
  const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
  const evidence = (overrides: Partial<Evidence>): Evidence => ({
    status: 'COMPLETED',
    outcome: 'VERIFIED',
    requestsFrom: [T0],
    actions: 6,
    posts: [{ time: at(1), accepted: true, runningAtArrival: false }],
    ...overrides,
  });
  const accepted = (second: number) => ({ time: at(second), accepted: true, runningAtArrival: false });

  it.each<[string, Partial<Evidence>, Partial<ReturnType<typeof judge>>]>([
    ['the expected outcome, one POST', {}, { kind: 'completed', doublePosts: 0, postsWhileRunning: 0, problems: [] }],
    ['another outcome', { outcome: 'TIMED_OUT' }, { kind: 'wrongOutcome' }],
    ['still running', { status: 'RUNNING', outcome: undefined }, { kind: 'stuck' }],
    ['failed', { status: 'FAILED', outcome: undefined }, { kind: 'lost' }],
    ['terminated', { status: 'TERMINATED', outcome: undefined }, { kind: 'lost' }],
    ['never there', { status: undefined, outcome: undefined }, { kind: 'lost' }],
    ['two accepted POSTs for one request', { posts: [accepted(1), accepted(5)] }, { doublePosts: 1 }],
    [
      'one accepted POST for the start and one for a resubmission',
      { requestsFrom: [T0, T0 + 3000], posts: [accepted(1), accepted(5)] },
      { doublePosts: 0 },
    ],
    [
      'two accepted POSTs for the start, none for a resubmission (an allowance is not a licence)',
      { requestsFrom: [T0, T0 + 9000], posts: [accepted(1), accepted(5)] },
      { doublePosts: 1 },
    ],
    [
      'a POST that arrived while a vendor request ran, whatever answered it',
      { posts: [accepted(1), { time: at(2), accepted: undefined, runningAtArrival: true }] },
      { doublePosts: 0, postsWhileRunning: 1 },
    ],
    [
      'POSTs that failed before acceptance, then one accepted',
      { posts: [{ time: at(1) }, { time: at(2) }, accepted(3)] },
      { doublePosts: 0, postsWhileRunning: 0 },
    ],
    [
      'a wait for the merchant that no rule explains',
      { needlessWait: 'waited at PENDING_KYC_DATA' },
      { needlessWaits: 1 },
    ],
  ])('%s', (_, overrides, expected) => {
    const verdict = judge(approve, evidence(overrides));
    expect(verdict).toMatchObject(expected);
    const flagged =
      verdict.kind !== 'completed' || verdict.doublePosts + verdict.postsWhileRunning + verdict.needlessWaits > 0;
    expect(verdict.problems.length > 0).toBe(flagged);
  });
});
