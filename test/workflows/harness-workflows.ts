// Test-only workflow that proves the harness: a real server, a real worker, a signal and a timer.
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

export const pingSignal = defineSignal<[string]>('ping');

export async function harnessWorkflow(input: { timeoutMs: number }): Promise<string> {
  let received: string | undefined;
  setHandler(pingSignal, (value) => void (received = value));
  const signalled = await condition(() => received !== undefined, input.timeoutMs);
  return signalled ? `pong:${received}` : 'timed-out';
}
