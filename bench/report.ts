// The results file's shape, and the table `npm run bench` prints from it.
import type { ScenarioCost } from './figures/cost.js';
import type { HeartbeatFigure } from './figures/heartbeats.js';
import type { IngestionFigure } from './figures/ingestion.js';
import type { LatencyFigure } from './figures/latency.js';
import type { ScaleFigure } from './figures/scale.js';
import type { RunInfo } from './machine.js';

export interface Failed {
  error: string;
}

export interface Results {
  run: RunInfo;
  mode: 'quick' | 'full';
  sizes: { latency: number; ingestion: number; scale: number; waitMs: number; slowPostMs: number };
  /** The figures this run measured (`--only`); the others are absent. */
  only: string[];
  /** The dev server's dynamic config for the run (eager activity dispatch). */
  dynamicConfig: Record<string, boolean | number | string>;
  /** Whether every payload was encrypted (`--encrypt`). */
  encrypted: boolean;
  seconds: number;
  figures: {
    latency?: LatencyFigure | Failed;
    ingestion?: IngestionFigure | Failed;
    cost?: { scenarios: ScenarioCost[]; excluded: string[] } | Failed;
    scale: (ScaleFigure | Failed)[];
    heartbeats?: HeartbeatFigure | Failed;
  };
}

/** The happy path's budget of billable actions, and the worker's memory budget. */
export const TARGETS = {
  latencyP99Ratio: 2,
  ingestionRatio: 0.8,
  happyPathActions: 6,
  rssMiB: 512,
  /** Figure 4's settled starts/s and burst completions/s, each against its floor. */
  scaleRatio: 0.5,
} as const;

type Row = { '#': string; figure: string; measured: string; floor: string; ratio: string; target: string; met: string };

export function printReport(results: Results): void {
  const { run, figures } = results;
  console.log(
    `\n${results.mode} run, ${run.date}, commit ${run.commit}${run.dirty ? ' (+ uncommitted changes)' : ''}, ` +
      `${run.machine.os}, ${run.machine.cpus} × ${run.machine.cpuModel}, ${run.machine.memoryGiB} GiB, ` +
      `Node ${run.machine.node}, ${results.seconds} s`,
  );
  const rows: Row[] = [];
  const row = (r: Partial<Row> & Pick<Row, '#' | 'figure'>) =>
    rows.push({ measured: '', floor: '', ratio: '', target: '', met: '', ...r });

  const latency = figures.latency;
  if (ok(latency)) {
    row({
      '#': '1',
      figure: `callback → result p50 / p99, ms (n=${latency.count}, c=${latency.concurrency})`,
      measured: `${latency.kyc.p50} / ${latency.kyc.p99}`,
      floor: `${latency.floor.p50} / ${latency.floor.p99}`,
      ratio: `${latency.p50Ratio} / ${latency.p99Ratio}`,
      target: `p99 ≤ ${TARGETS.latencyP99Ratio}× floor`,
      met: yes(latency.p99Ratio <= TARGETS.latencyP99Ratio),
    });
  } else row({ '#': '1', figure: 'callback → result latency', measured: failure(latency) });

  const ingestion = figures.ingestion;
  if (ok(ingestion)) {
    row({
      '#': '2',
      figure: `callback ingestion, /s (n=${ingestion.count}, c=${ingestion.concurrency})`,
      measured: String(ingestion.receiverPerSecond),
      floor: String(ingestion.floorPerSecond),
      ratio: String(ingestion.ratio),
      target: `≥ ${TARGETS.ingestionRatio}`,
      met: yes(ingestion.ratio >= TARGETS.ingestionRatio),
    });
  } else row({ '#': '2', figure: 'callback ingestion', measured: failure(ingestion) });

  const cost = figures.cost;
  if (ok(cost)) {
    for (const scenario of cost.scenarios) {
      const happy = scenario.scenario.startsWith('approve');
      row({
        '#': '3',
        figure: `${scenario.scenario}: actions (events), ${scenario.outcome}`,
        measured: `${scenario.actions} (${scenario.historyEvents})`,
        target: happy ? `≤ ${TARGETS.happyPathActions}` : '',
        met: happy ? yes(scenario.actions <= TARGETS.happyPathActions) : '',
      });
    }
  } else row({ '#': '3', figure: 'cost per verification', measured: failure(cost) });

  for (const scale of figures.scale) {
    if (!ok(scale)) {
      row({ '#': '4', figure: 'scale', measured: failure(scale) });
      continue;
    }
    const label = `${scale.count} waiting, cache ${scale.workerMaxCachedWorkflows}`;
    row({
      '#': '4',
      figure: `${label}: worker RSS starting / waiting / burst / after, MiB`,
      measured: `${scale.rssMiB.peakStarting} / ${scale.rssMiB.peakWaiting} / ${scale.rssMiB.peakBurst} / ${scale.rssMiB.afterBurst}`,
      ratio: `peak ${scale.rssMiB.peak}`,
      target: `≤ ${TARGETS.rssMiB}`,
      met: yes(scale.rssMiB.peak <= TARGETS.rssMiB),
    });
    row({
      '#': '4',
      figure: `${label}: settled starts/s (accepted /s)`,
      measured: `${scale.start.settledPerSecond} (${scale.start.perSecond})`,
      floor: String(scale.start.floorSettledPerSecond),
      ratio: String(scale.start.ratio),
      target: `≥ ${TARGETS.scaleRatio}`,
      met: yes(scale.start.ratio >= TARGETS.scaleRatio),
    });
    row({
      '#': '4',
      figure: `${label}: burst completions/s (drain s, callbacks/s)`,
      measured: `${scale.burst.completionsPerSecond} (${scale.burst.drainSeconds}, ${scale.burst.callbacksPerSecond})`,
      floor: String(scale.burst.floorCompletionsPerSecond),
      ratio: String(scale.burst.ratio),
      target: `≥ ${TARGETS.scaleRatio}`,
      met: yes(scale.burst.ratio >= TARGETS.scaleRatio),
    });
  }

  const heartbeats = figures.heartbeats;
  if (ok(heartbeats)) {
    row({
      '#': '5',
      figure: `heartbeats that reached the server, ${heartbeats.postDelayMs / 1000} s POST`,
      measured: `${heartbeats.heartbeats} (first after ${heartbeats.firstHeartbeatAfterSeconds} s, every ${heartbeats.meanIntervalSeconds} s)`,
    });
  } else row({ '#': '5', figure: 'heartbeats', measured: failure(heartbeats) });

  console.table(rows);
  if (ok(cost)) {
    const types = [...new Set(cost.scenarios.flatMap((scenario) => Object.keys(scenario.breakdown)))];
    console.log('Figure 3, actions (events) per event type:');
    console.table(
      types.map((type) => ({
        'event type': type,
        ...Object.fromEntries(
          cost.scenarios.map((scenario) => {
            const entry = scenario.breakdown[type];
            return [scenario.scenario, entry ? `${entry.actions} (${entry.events})` : ''];
          }),
        ),
      })),
    );
    console.log(`Not in any history, so not counted: ${cost.excluded.join('; ')}.`);
  }
}

function ok<T extends object>(figure: T | Failed | undefined): figure is T {
  return figure !== undefined && !('error' in figure);
}

function failure(figure: Failed | undefined): string {
  return figure ? `FAILED: ${figure.error}` : 'not run';
}

function yes(met: boolean): string {
  return met ? 'yes' : 'NO';
}
