// The seven chaos scenarios of docs/reliability.md: who the customers are, and what is injected while they verify.
import { CALLBACK_MODES, type CustomerScript } from '../../src/sandbox/scenarios.js';
import { sleep } from '../harness.js';
import type { CustomerKind } from './verifications.js';
import {
  killOneWorker,
  killServer,
  killWorkers,
  pause,
  receiverDown,
  rollingRestart,
  waitForInFlight,
  type World,
} from './world.js';

export interface Sizes {
  quick: boolean;
  /** How long the receiver stays down. */
  receiverDownMs: number;
  /** How long the dev server stays down after its kill. */
  serverDownMs: number;
  /** How long a slow POST takes: the span a worker is killed or stopped in the middle of. */
  slowPostMs: number;
}

export interface ChaosScenario {
  name: string;
  verifications: { quick: number; full: number };
  workers: number;
  /** The customer kind of the i-th verification. */
  kind(index: number, world: World, sizes: Sizes): CustomerKind;
  /** Runs beside the verifications, from the moment the first one starts. */
  inject(world: World, sizes: Sizes): Promise<void>;
  /** Faults in the sandbox's log (see `ScenarioFigures.vendor`) that would show the scenario's promise broken. */
  forbiddenVendorFaults?: string[];
}

const KINDS = {
  approve: { name: 'approve', prefix: 'approve-', expected: 'VERIFIED', script: {} },
  reject: { name: 'reject', prefix: 'reject-', expected: 'REJECTED', script: {} },
  soft: {
    name: 'soft, then resubmit',
    prefix: 'soft-',
    expected: 'VERIFIED',
    script: {},
    waitsFor: ['SOFT_KYC_FAILED'],
  },
  silent: { name: 'silent', prefix: 'silent-', expected: 'VERIFIED', script: {} },
  // The verification ends where it started: nothing to show for it, so the merchant sends it again.
  bounce: {
    name: 'back to PENDING_KYC_DATA, then resubmit',
    prefix: 'bounce-',
    expected: 'VERIFIED',
    script: { outcomes: [{ status: 'PENDING_KYC_DATA' }, { status: 'FULL_USER' }] },
    waitsFor: ['PENDING_KYC_DATA'],
  },
} satisfies Record<string, CustomerKind>;

const MIXED = [KINDS.approve, KINDS.reject, KINDS.soft, KINDS.silent];

const slow = ({ slowPostMs }: Sizes): CustomerKind => ({
  name: 'slow POST',
  prefix: 'approve-',
  expected: 'VERIFIED',
  script: { postDelayMs: slowPostMs },
});
// After a soft failure the vendor would accept the request again: a second POST would not be refused, but counted.
const slowSoft = ({ slowPostMs }: Sizes): CustomerKind => ({
  name: 'slow POST, soft, then resubmit',
  prefix: 'soft-',
  expected: 'VERIFIED',
  script: { postDelayMs: slowPostMs },
  waitsFor: ['SOFT_KYC_FAILED'],
});

/** The vendor at its worst, drawn per customer: faults on both endpoints, and callbacks that go astray. */
function withVendorChaos(kind: CustomerKind, world: World): CustomerKind {
  const mode = CALLBACK_MODES[Math.floor(world.random() * CALLBACK_MODES.length)] ?? 'normal';
  const script: CustomerScript = {
    ...kind.script,
    randomFaults: {
      faultRate: 0.2,
      lostAnswerRate: 0.2,
      spikeRate: 0.1,
      spikeMs: 4000,
      junkRate: 0.05,
      unknownStatusRate: 0.05,
      seed: Math.floor(world.random() * 2 ** 31),
    },
    callbacks: { mode, delayMs: 3000 },
  };
  return { ...kind, name: `${kind.name} (vendor chaos, callbacks ${mode})`, script };
}

export const SCENARIOS: ChaosScenario[] = [
  {
    name: 'worker killed during the slow POST',
    verifications: { quick: 6, full: 30 },
    workers: 1,
    kind: (index, _, sizes) => (index % 2 ? slowSoft(sizes) : slow(sizes)),
    async inject(world, { quick }) {
      await waitForInFlight(world, 'POST', quick ? 4 : 20);
      await killWorkers(world);
    },
  },
  {
    name: 'worker killed during the wait and during a status check',
    verifications: { quick: 12, full: 60 },
    workers: 1,
    // Slow reads keep status checks in flight long enough to be killed in the middle of one.
    kind: (index) => ({
      ...MIXED[index % MIXED.length]!,
      script: { randomFaults: { spikeRate: 0.5, spikeMs: 3000 } },
    }),
    async inject(world, { quick }) {
      for (let kill = 0; kill < (quick ? 2 : 5); kill += 1) {
        await pause(world, 2000, 8000);
        await killOneWorker(world);
      }
      await waitForInFlight(world, 'GET', 1);
      await killOneWorker(world);
    },
  },
  {
    name: 'Temporal server killed',
    verifications: { quick: 12, full: 60 },
    workers: 1,
    kind: (index) => MIXED[index % MIXED.length]!,
    async inject(world, sizes) {
      for (let kill = 0; kill < (sizes.quick ? 1 : 2); kill += 1) {
        await pause(world, 3000, 8000);
        await killServer(world, sizes.serverDownMs);
      }
    },
  },
  {
    name: 'receiver down',
    verifications: { quick: 12, full: 60 },
    workers: 1,
    kind: (index) => MIXED[index % MIXED.length]!,
    async inject(world, sizes) {
      await receiverDown(world, sizes.receiverDownMs);
    },
  },
  {
    name: 'vendor chaos',
    verifications: { quick: 20, full: 100 },
    workers: 1,
    kind: (index, world) => withVendorChaos([...MIXED, KINDS.bounce][index % 5]!, world),
    async inject() {
      // Everything is in the customers' scripts.
    },
  },
  {
    name: 'rolling restart',
    verifications: { quick: 16, full: 100 },
    workers: 2,
    // Slow POSTs are in flight when each worker gets SIGTERM: they must finish, not be sent again.
    kind: (index, _, sizes) => (index % 4 === 0 ? slow(sizes) : KINDS.approve),
    async inject(world) {
      await waitForInFlight(world, 'POST', 1);
      await rollingRestart(world);
    },
    // SIGTERM lets a worker finish its POSTs: none may be cut.
    forbiddenVendorFaults: ['POST client disconnected'],
  },
  {
    name: 'everything at once',
    verifications: { quick: 40, full: 300 },
    workers: 2,
    kind: (index, world, sizes) =>
      withVendorChaos([...MIXED, KINDS.bounce, slow(sizes), slowSoft(sizes)][index % 7]!, world),
    async inject(world, sizes) {
      await waitForInFlight(world, 'POST', 1);
      await killWorkers(world);
      await pause(world, 1000, 4000);
      // The receiver's outage spans the server's.
      const outage = receiverDown(world, sizes.receiverDownMs);
      await sleep(2000);
      await killServer(world, sizes.serverDownMs);
      await outage;
      await rollingRestart(world);
      await pause(world, 1000, 4000);
      await killOneWorker(world);
    },
  },
];
