// The merchant's side of a chaos scenario: script the customers at the sandbox, start their verifications, resubmit
// whenever one waits for it (as a merchant who fixes the data would), and afterwards judge every verification from
// Temporal's own records and the sandbox's request log.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

import type { CallbackAttempt } from '../../src/sandbox/callbacks.js';
import type { RequestLog, RequestLogEntry } from '../../src/sandbox/sandbox.js';
import type { CustomerScript } from '../../src/sandbox/scenarios.js';
import {
  type KycVerificationInput,
  type KycVerificationResult,
  type Outcome,
  resubmitUpdate,
  statusQuery,
  verificationWorkflowId,
  WORKFLOW_TYPE,
} from '../../src/shared/contract.js';
import { countActions } from '../figures/cost.js';
import { runPool, sleep } from '../harness.js';
import { expectOk, requestJson } from '../http.js';
import { round, summarize } from '../stats.js';

/** What the scenario's customers are scripted to do at the vendor, and the outcome each must end with. */
export interface CustomerKind {
  name: string;
  /** Selects the sandbox's scenario for the id (see src/sandbox/scenarios.ts). */
  prefix: string;
  expected: Outcome;
  script: CustomerScript;
  /**
   * The statuses its script makes the run wait for the merchant in (e.g. SOFT_KYC_FAILED). Besides these, only an
   * unknown outcome is a reason to wait; any other wait is counted as needless.
   */
  waitsFor?: string[];
}

export interface Verification {
  customerId: string;
  kind: CustomerKind;
}

/** Where the verifications run: a client of the stack's Temporal, its task queue and the sandbox's control API. */
export interface Target {
  client: Client;
  taskQueue: string;
  sandboxControlUrl: string;
}

/** Short waits, so a lost callback costs seconds; the deadline bounds how long a scenario can take. */
export function chaosInput(customerId: string, deadlineMs: number): KycVerificationInput {
  return {
    customerId,
    timing: { firstCheckAfter: '5s', maxCheckInterval: '20s', deadline: deadlineMs },
    // The merchant here resubmits whenever asked, and a vendor answering 5xx a fifth of the time asks often.
    maxResubmissions: 20,
  };
}

/** Scripts every customer, then starts its verification; a start that fails (the server is down) is tried again. */
export async function startVerifications(target: Target, list: Verification[], deadlineMs: number): Promise<void> {
  await runPool(list, 16, async ({ customerId, kind }) => {
    await expectOk('PUT', `${target.sandboxControlUrl}/customers/${customerId}`, kind.script);
    await untilDone(`start ${customerId}`, () =>
      target.client.workflow.start(WORKFLOW_TYPE, {
        workflowId: verificationWorkflowId(customerId),
        taskQueue: target.taskQueue,
        args: [chaosInput(customerId, deadlineMs)],
        // A retried start whose first try landed attaches to the same run instead of failing.
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    );
  });
}

/**
 * Resubmits every verification that waits in AWAITING_RESUBMISSION, until stopped, and notes each wait that no rule
 * explains. It finds them through the KycStatus search attribute (the statuses after which a run can wait for the
 * merchant), then asks each one for its phase, so it never loads the workers with a query per verification per round.
 */
export function startMerchant(target: Target, list: Verification[]): Merchant {
  const kinds = new Map(list.map(({ customerId, kind }) => [verificationWorkflowId(customerId), kind]));
  const needlessWaits = new Map<string, string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await resubmitWaiting(target, kinds, needlessWaits).catch(() => undefined);
      await sleep(1000);
    }
  })();
  return {
    needlessWaits,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export interface Merchant {
  /** Per workflow id, the first wait for the merchant that neither the script nor an unknown outcome explains. */
  needlessWaits: Map<string, string>;
  stop(): Promise<void>;
}

async function resubmitWaiting(
  target: Target,
  kinds: Map<string, CustomerKind>,
  needlessWaits: Map<string, string>,
): Promise<void> {
  const query =
    `WorkflowType = '${WORKFLOW_TYPE}' AND TaskQueue = '${target.taskQueue}' AND ExecutionStatus = 'Running' ` +
    `AND KycStatus IN ('SOFT_KYC_FAILED', 'PENDING_KYC_DATA', 'KYC_NEEDED')`;
  const ids: string[] = [];
  for await (const execution of target.client.workflow.list({ query })) ids.push(execution.workflowId);
  await runPool(ids, 8, async (workflowId) => {
    const handle = target.client.workflow.getHandle(workflowId);
    // A dead worker or server must not hold the loop: the next round asks again.
    await target.client
      .withDeadline(Date.now() + 5000, async () => {
        const state = await handle.query(statusQuery);
        if (state.phase !== 'AWAITING_RESUBMISSION') return;
        const explained =
          state.lastError?.startsWith('Outcome unknown') ||
          kinds.get(workflowId)?.waitsFor?.includes(state.status ?? '');
        if (!explained && !needlessWaits.has(workflowId)) {
          needlessWaits.set(workflowId, `waited for the merchant at ${state.status} (lastError: ${state.lastError})`);
        }
        await handle.executeUpdate(resubmitUpdate);
      })
      .catch(() => undefined);
  });
}

/** Resolves once no verification of the task queue runs, or when `cutoff` (epoch ms) passes. */
export async function waitUntilClosed(target: Target, cutoff: number): Promise<void> {
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND TaskQueue = '${target.taskQueue}' AND ExecutionStatus = 'Running'`;
  // Twice in a row: visibility can lag a moment behind, e.g. just after the server restarted.
  let zeros = 0;
  while (Date.now() < cutoff && zeros < 2) {
    const running = await target.client.workflow.count(query).then(
      ({ count }) => count,
      () => Number.NaN,
    );
    zeros = running === 0 ? zeros + 1 : 0;
    await sleep(1000);
  }
}

export interface ScenarioFigures {
  name: string;
  started: number;
  /** Completed with the expected outcome. */
  completed: number;
  /** Never completed and not running: failed, terminated, or never there. */
  lost: number;
  /** Still running past its deadline. */
  stuck: number;
  /** Accepted verification requests beyond one per start or accepted resubmission. */
  doublePosts: number;
  /** Verification requests that reached the vendor while one of its requests ran: requests that should not exist. */
  postsWhileRunning: number;
  /** Waits for the merchant that neither the script nor an unknown outcome explains. */
  needlessWaits: number;
  /** Completed, but with another outcome than the script's. */
  wrongOutcomes: number;
  /** From start to close, by the server's clock, over the completed verifications. */
  timeToResultMs: { p50: number; p99: number; max: number };
  /** Billable actions per verification, counted from the histories (heartbeats and queries not included). */
  actionsPerVerification: { mean: number; max: number };
  resubmissions: number;
  /** What was injected, e.g. `{ workerKills: 3 }`. */
  injected: Record<string, number>;
  /** The faults the sandbox's log shows, by kind (e.g. `GET junk`, `POST reset after acceptance`, `callback failed`). */
  vendor: Record<string, number>;
  seconds: number;
  /** One line for each verification that counts against a figure that must be 0. */
  problems: string[];
}

/** The sandbox's log of what it received and the callbacks it sent. */
export async function sandboxLog(target: Pick<Target, 'sandboxControlUrl'>): Promise<RequestLog> {
  return (await requestJson('GET', `${target.sandboxControlUrl}/requests`)).body as RequestLog;
}

/** What is known of one verification once the scenario is over. */
export interface Evidence {
  /** The server's description; undefined when it has no such workflow. */
  status?: string;
  startTime?: Date;
  closeTime?: Date;
  /** The result's outcome, when it completed. */
  outcome?: string;
  /** When each request began, by the server's clock: the start, then each accepted `resubmit`. */
  requestsFrom: number[];
  actions: number;
  /** The sandbox's log of this customer's verification requests. */
  posts: Pick<RequestLogEntry, 'time' | 'accepted' | 'runningAtArrival'>[];
  /** Why the run waited for the merchant without a reason, if it did. */
  needlessWait?: string;
}

export interface Verdict {
  kind: 'completed' | 'lost' | 'stuck' | 'wrongOutcome';
  doublePosts: number;
  postsWhileRunning: number;
  needlessWaits: number;
  problems: string[];
}

/** Judges one verification from its evidence: pure, so each rule is tested on its own. */
export function judge({ customerId, kind }: Verification, evidence: Evidence): Verdict {
  const problems: string[] = [];
  // At most one accepted POST between the start of one request (the start, or an accepted resubmit) and the next.
  const perRequest = evidence.requestsFrom.map(() => 0);
  for (const post of evidence.posts) {
    if (post.accepted !== true) continue;
    // The last request that began before the POST arrived (the first, for one that arrived before the start).
    const arrived = Date.parse(post.time);
    const index = Math.max(0, evidence.requestsFrom.filter((from) => from <= arrived).length - 1);
    perRequest[index] = (perRequest[index] ?? 0) + 1;
  }
  const doublePosts = perRequest.reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  if (doublePosts) problems.push(`${customerId}: accepted POSTs per request ${JSON.stringify(perRequest)}`);
  const postsWhileRunning = evidence.posts.filter((post) => post.runningAtArrival === true).length;
  if (postsWhileRunning) problems.push(`${customerId}: ${postsWhileRunning} POSTs while a vendor request ran`);
  const needlessWaits = evidence.needlessWait ? 1 : 0;
  if (evidence.needlessWait) problems.push(`${customerId}: ${evidence.needlessWait}`);

  let verdict: Verdict['kind'];
  if (evidence.status === 'RUNNING') {
    verdict = 'stuck';
    problems.push(`${customerId}: still running past its deadline`);
  } else if (evidence.status !== 'COMPLETED') {
    verdict = 'lost';
    problems.push(`${customerId}: ${evidence.status ?? 'no workflow'}`);
  } else if (evidence.outcome === kind.expected) {
    verdict = 'completed';
  } else {
    verdict = 'wrongOutcome';
    problems.push(`${customerId}: ${evidence.outcome}, expected ${kind.expected} (${kind.name})`);
  }
  return { kind: verdict, doublePosts, postsWhileRunning, needlessWaits, problems };
}

/** Gathers every verification's evidence from Temporal and the sandbox, and sums the verdicts. */
export async function measure(
  target: Target,
  name: string,
  list: Verification[],
  {
    injected,
    needlessWaits,
    seconds,
  }: { injected: Record<string, number>; needlessWaits: Map<string, string>; seconds: number },
): Promise<ScenarioFigures> {
  const log = await sandboxLog(target);
  const problems: string[] = [];
  const times: number[] = [];
  const actions: number[] = [];
  const figures = {
    completed: 0,
    lost: 0,
    stuck: 0,
    doublePosts: 0,
    postsWhileRunning: 0,
    needlessWaits: 0,
    wrongOutcomes: 0,
  };
  let resubmissions = 0;

  await runPool(list, 8, async (verification) => {
    const evidence = await gatherEvidence(target, verification, log.requests);
    evidence.needlessWait = needlessWaits.get(verificationWorkflowId(verification.customerId));
    const verdict = judge(verification, evidence);
    resubmissions += evidence.requestsFrom.length - 1;
    if (evidence.status !== undefined) actions.push(evidence.actions);
    figures.doublePosts += verdict.doublePosts;
    figures.postsWhileRunning += verdict.postsWhileRunning;
    figures.needlessWaits += verdict.needlessWaits;
    problems.push(...verdict.problems);
    if (verdict.kind === 'wrongOutcome') figures.wrongOutcomes += 1;
    else figures[verdict.kind] += 1;
    if (verdict.kind === 'completed' && evidence.startTime && evidence.closeTime) {
      times.push(evidence.closeTime.getTime() - evidence.startTime.getTime());
    }
  });

  const time = summarize(times);
  const cost = summarize(actions);
  return {
    name,
    started: list.length,
    ...figures,
    timeToResultMs: { p50: time.p50, p99: time.p99, max: time.max },
    actionsPerVerification: { mean: round(cost.mean), max: cost.max },
    resubmissions,
    injected,
    vendor: vendorFaults(log.requests, log.callbacks),
    seconds: round(seconds),
    problems: problems.slice(0, 20),
  };
}

async function gatherEvidence(
  target: Target,
  { customerId }: Verification,
  requests: RequestLogEntry[],
): Promise<Evidence> {
  const posts = requests.filter((entry) => entry.method === 'POST' && entry.customerId === customerId);
  const workflowId = verificationWorkflowId(customerId);
  const handle = target.client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch(() => undefined);
  if (!description) return { requestsFrom: [], actions: 0, posts };
  // Every run of the chain, oldest first: a run that continued as new hands its history to the next.
  const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
  for (let runId: string | undefined = description.runId; runId;) {
    const history: proto.temporal.api.history.v1.IHistory = await target.client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const runEvents = history.events ?? [];
    events.unshift(...runEvents);
    runId = runEvents[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  const EventType = proto.temporal.api.enums.v1.EventType;
  const timeOf = (event: proto.temporal.api.history.v1.IHistoryEvent) =>
    Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
  const status = description.status.name;
  return {
    status,
    startTime: description.startTime,
    closeTime: description.closeTime,
    outcome: status === 'COMPLETED' ? ((await handle.result()) as KycVerificationResult).outcome : undefined,
    requestsFrom: [
      description.startTime.getTime(),
      ...events
        .filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
        .map(timeOf),
    ],
    actions: countActions(events).actions,
    posts,
  };
}

/** What the vendor did wrong on purpose, from its own log: evidence that the faults happened. */
function vendorFaults(requests: RequestLogEntry[], callbacks: CallbackAttempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  for (const entry of requests) {
    if (entry.fault)
      add(`${entry.method} ${entry.fault}${entry.method === 'POST' && entry.accepted ? ' after acceptance' : ''}`);
    else if (entry.error) add(`${entry.method} ${entry.error}`);
  }
  for (const callback of callbacks) if (callback.result !== 'delivered') add(`callback ${callback.result}`);
  return counts;
}

/** Tries `action` until it succeeds: during a chaos scenario, the server may be down for a while. */
async function untilDone<T>(what: string, action: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() > giveUpAt) throw new Error(`${what}: ${String(error)}`);
      await sleep(500);
    }
  }
}
