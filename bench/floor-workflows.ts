// The floor the benchmark compares against: the least a signal-driven workflow can do. It waits for one signal and
// returns, so any time or throughput above it belongs to the KYC path (receiver, activities, extra workflow tasks).
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

/** Carries a callback-sized payload, so the floor pays the same serialisation as the receiver's signal. */
export const floorSignal = defineSignal<[unknown]>('floor');

export async function floorWorkflow(): Promise<void> {
  let signalled = false;
  setHandler(floorSignal, () => void (signalled = true));
  await condition(() => signalled);
}
