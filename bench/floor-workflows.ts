// The floors the benchmark compares against: the least a signal-driven workflow can do. Any time or throughput above
// them belongs to the KYC path (receiver, activities, extra workflow tasks, validation).
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

import type { floorActivities } from './floor-activities.js';

/** Carries a callback-sized payload, so the floor pays the same serialisation as the receiver's signal. */
export const floorSignal = defineSignal<[unknown]>('floor');

const { noop } = proxyActivities<typeof floorActivities>({ startToCloseTimeout: '1 minute' });

/** Waits for one signal and returns. */
export async function floorWorkflow(): Promise<void> {
  let signalled = false;
  setHandler(floorSignal, () => void (signalled = true));
  await condition(() => signalled);
}

/** Runs one no-op activity, as a verification runs its request, then waits for one signal: the floor of figure 4. */
export async function floorWithActivityWorkflow(): Promise<void> {
  let signalled = false;
  setHandler(floorSignal, () => void (signalled = true));
  await noop();
  await condition(() => signalled);
}
