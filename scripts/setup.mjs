// Installs what a fresh clone lacks: the Node dependencies and the pinned Temporal CLI.
// Plain Node with no dependencies, because it runs before `npm ci` has.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** v1.5.1 is the newest tag `go install` accepts; later ones carry a `replace` directive. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const toolsBin = join(root, '.tools', 'bin');

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error('[setup] installing Node dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The Temporal CLI: TEMPORAL_CLI_PATH, then `.tools/bin`, then PATH, else built with `go install`. */
export function ensureTemporalCli() {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) fail(`TEMPORAL_CLI_PATH points to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const cached = join(toolsBin, 'temporal');
  if (existsSync(cached)) return cached;
  const found = onPath('temporal');
  if (found) return found;
  if (!onPath('go')) {
    fail('no Temporal CLI: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or install Go so it can be built');
  }
  console.error(`[setup] building the Temporal CLI ${TEMPORAL_CLI_VERSION} into .tools/bin (once, a few minutes)`);
  const result = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOBIN: toolsBin, GOFLAGS: '-mod=mod' },
  });
  if (result.status !== 0 || !existsSync(cached)) fail(`go install of the Temporal CLI failed (exit ${result.status})`);
  return cached;
}

function fail(message) {
  console.error(`[setup] ${message}`);
  process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureNodeModules();
  ensureTemporalCli();
}
