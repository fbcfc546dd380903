// Figure 5: how many heartbeats of one long verification POST reached the server. Each one that does is a billable
// action; the SDK throttles the rest. Counted from the server's side: distinct `lastHeartbeatTime` values seen by
// polling describe(), which is finer than the throttle interval, so none is missed.
import { startKycVerification } from '../../src/client.js';
import { type Bench, scriptCustomer, sleep } from '../harness.js';
import { round } from '../stats.js';

export interface HeartbeatFigure {
  postDelayMs: number;
  heartbeats: number;
  /** From the activity's start to the first heartbeat the server recorded. */
  firstHeartbeatAfterSeconds: number | null;
  /** Mean gap between recorded heartbeats. */
  meanIntervalSeconds: number | null;
  outcome: string;
}

export async function measureHeartbeats(
  bench: Bench,
  { postDelayMs, runId }: { postDelayMs: number; runId: string },
): Promise<HeartbeatFigure> {
  const customerId = `slow-hb-${runId}`;
  await scriptCustomer(bench, customerId, { postDelayMs });
  const handle = await startKycVerification(bench.client, { customerId }, { taskQueue: bench.taskQueue });
  const result = handle.result();
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);

  const seen = new Set<number>();
  let activityStartedAt: number | undefined;
  while (!done) {
    const pending = (await handle.describe()).raw.pendingActivities?.[0];
    if (pending?.activityType?.name === 'startVerification') {
      activityStartedAt ??= toMs(pending.lastStartedTime);
      const heartbeat = toMs(pending.lastHeartbeatTime);
      if (heartbeat !== undefined) seen.add(heartbeat);
    }
    await sleep(500);
  }
  const { outcome } = await result;

  const times = [...seen].sort((a, b) => a - b);
  const first = times[0];
  const last = times.at(-1);
  return {
    postDelayMs,
    heartbeats: times.length,
    firstHeartbeatAfterSeconds:
      first !== undefined && activityStartedAt !== undefined ? round((first - activityStartedAt) / 1000, 2) : null,
    meanIntervalSeconds:
      first !== undefined && last !== undefined && times.length > 1
        ? round((last - first) / 1000 / (times.length - 1), 2)
        : null,
    outcome,
  };
}

function toMs(ts: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined) {
  if (!ts?.seconds) return undefined;
  return Number(ts.seconds.toString()) * 1000 + Math.round((ts.nanos ?? 0) / 1e6);
}
