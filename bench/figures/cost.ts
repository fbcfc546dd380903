// Figure 3: what one verification costs in history events and Temporal Cloud billable actions, counted from the real
// histories of three scenarios driven through the whole stack (the sandbox's callbacks go to the receiver).
import proto from '@temporalio/proto';

import { startKycVerification } from '../../src/client.js';
import type { CustomerScript } from '../../src/sandbox/scenarios.js';
import { type KycVerificationInput, resubmitUpdate } from '../../src/shared/contract.js';
import { type Bench, scriptCustomer } from '../harness.js';
import { awaitPhase, type KycHandle } from './open-verifications.js';

/**
 * Actions per history event, per https://docs.temporal.io/cloud/actions. Activity retries are billed too; they show
 * as ActivityTaskStarted's `attempt`, not as extra events. Local activities (markers) cost one action per workflow
 * task that ran any (see `countActions`). Events not listed here cost nothing.
 */
const ACTIONS_PER_EVENT: Record<string, number> = {
  WorkflowExecutionStarted: 1,
  ActivityTaskScheduled: 1,
  TimerStarted: 1,
  UpsertWorkflowSearchAttributes: 1,
  WorkflowExecutionSignaled: 1,
  WorkflowExecutionUpdateAccepted: 1,
};

/** Billable but invisible in a history, so not in the totals. */
export const EXCLUDED_ACTIONS = [
  'Activity heartbeats that reach the server: each startVerification POST sends at least one (figure 5 counts them)',
  'Rejected updates: none in these runs (the bench sends resubmit only once the phase allows it)',
  "Queries: the soft scenario's bench polls `status` until it may resubmit; a real caller may not",
];

export interface ScenarioCost {
  scenario: string;
  workflowId: string;
  outcome: string;
  historyEvents: number;
  actions: number;
  /** Per event type: how many events, and the actions they cost. */
  breakdown: Record<string, { events: number; actions: number }>;
}

interface Scenario {
  name: string;
  prefix: string;
  script: CustomerScript;
  timing?: KycVerificationInput['timing'];
  drive?: (handle: KycHandle) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  // The happy path: the vendor calls back, one status check confirms it.
  { name: 'approve (callback)', prefix: 'approve-', script: { processingDelayMs: 1000 } },
  // No callback at all: the first timer-based check finds the final status.
  {
    name: 'silent (fallback)',
    prefix: 'silent-',
    script: { processingDelayMs: 500 },
    timing: { firstCheckAfter: '2s' },
  },
  {
    name: 'soft, then resubmit',
    prefix: 'soft-',
    script: { processingDelayMs: 1000 },
    drive: async (handle) => {
      await awaitPhase(handle, 'AWAITING_RESUBMISSION');
      await handle.executeUpdate(resubmitUpdate);
    },
  },
];

export async function measureCost(bench: Bench, { runId }: { runId: string }): Promise<ScenarioCost[]> {
  return Promise.all(
    SCENARIOS.map(async (scenario) => {
      const customerId = `${scenario.prefix}cost-${runId}`;
      await scriptCustomer(bench, customerId, scenario.script);
      const handle = await startKycVerification(
        bench.client,
        { customerId, timing: scenario.timing },
        { taskQueue: bench.taskQueue },
      );
      await scenario.drive?.(handle);
      const { outcome } = await handle.result();
      const events = (await handle.fetchHistory()).events ?? [];
      return { scenario: scenario.name, workflowId: handle.workflowId, outcome, ...countActions(events) };
    }),
  );
}

/** Billable actions in one history, per event type; the chaos suite counts its verifications with it too. */
export function countActions(events: proto.temporal.api.history.v1.IHistoryEvent[]) {
  const breakdown: ScenarioCost['breakdown'] = {};
  const add = (type: string, count: number, actions: number) => {
    const entry = (breakdown[type] ??= { events: 0, actions: 0 });
    entry.events += count;
    entry.actions += actions;
  };
  const tasksWithLocalActivities = new Set<string>();
  for (const event of events) {
    const type = eventTypeName(event.eventType);
    if (localActivityType(event) !== undefined) {
      // All the local activities that one workflow task ran cost one action together.
      const task = String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId);
      add('MarkerRecorded (local activity)', 1, tasksWithLocalActivities.has(task) ? 0 : 1);
      tasksWithLocalActivities.add(task);
      continue;
    }
    if (type === 'UpsertWorkflowSearchAttributes' && onlyChangeVersion(event)) {
      // patched() records its id in TemporalChangeVersion; Temporal Cloud exempts that upsert.
      add('UpsertWorkflowSearchAttributes (TemporalChangeVersion)', 1, 0);
      continue;
    }
    add(type, 1, ACTIONS_PER_EVENT[type] ?? 0);
    const attempt = event.activityTaskStartedEventAttributes?.attempt ?? 1;
    if (attempt > 1) add('ActivityTaskScheduled (retries)', 0, attempt - 1);
  }
  const actions = Object.values(breakdown).reduce((sum, entry) => sum + entry.actions, 0);
  return { historyEvents: events.length, actions, breakdown };
}

function onlyChangeVersion(event: proto.temporal.api.history.v1.IHistoryEvent): boolean {
  const fields = Object.keys(
    event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
  );
  return fields.length > 0 && fields.every((field) => field === 'TemporalChangeVersion');
}

/** The activity type of a local activity's marker; undefined for any other event. */
export function localActivityType(event: proto.temporal.api.history.v1.IHistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.data?.payloads?.[0]?.data;
  // Core writes the marker's data with serde's snake_case names.
  return data ? (JSON.parse(Buffer.from(data).toString()) as { activity_type?: string }).activity_type : undefined;
}

/** EVENT_TYPE_ACTIVITY_TASK_SCHEDULED -> ActivityTaskScheduled, the names the Temporal docs use. */
function eventTypeName(type: proto.temporal.api.enums.v1.EventType | null | undefined): string {
  const name = proto.temporal.api.enums.v1.EventType[type ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}
