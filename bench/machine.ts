// What every figure is recorded with: the machine, the date and the code it measured.
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem, type } from 'node:os';

export interface RunInfo {
  date: string;
  commit: string;
  /** The working tree differed from `commit` (uncommitted or untracked files), so the commit alone does not pin it. */
  dirty: boolean;
  machine: { os: string; cpus: number; cpuModel: string; memoryGiB: number; node: string };
}

export function runInfo(): RunInfo {
  return {
    date: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    dirty: (git(['status', '--porcelain']) ?? '') !== '',
    machine: {
      os: `${type()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
  };
}

function git(args: string[]): string | undefined {
  try {
    // Read-only: GIT_OPTIONAL_LOCKS=0 keeps `git status` from taking the index lock others may be committing under.
    return execFileSync('git', args, { encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();
  } catch {
    return undefined;
  }
}
