import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// Starts `steadfast serve` on a free port of 127.0.0.1 with a fresh data
// directory, waits until GET /healthz answers, and publishes the base URL in
// STEADFAST_URL for the tests. The returned function (Playwright runs it as
// the global teardown) stops the server by its PID and removes the data dir.
//
// STEADFAST_BIN overrides the binary (default: ../target/debug/steadfast).
// The server's output goes to artifacts/server.log.

const repoRoot = path.resolve(__dirname, '..');
const artifacts = path.join(__dirname, 'artifacts');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function globalSetup() {
  const bin = path.resolve(
    repoRoot,
    process.env.STEADFAST_BIN ?? path.join('target', 'debug', 'steadfast'),
  );
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} not found: run scripts/build.sh first (or set STEADFAST_BIN)`);
  }
  fs.mkdirSync(artifacts, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'steadfast-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = path.join(artifacts, 'server.log');
  const log = fs.openSync(logPath, 'w');

  // The working directory is the repository, where target/site is.
  // A known operator token (the tests log in with it and call the operator
  // API); orders wait an hour before charging, so a cancel lands in the hold.
  const operatorToken = process.env.STEADFAST_OPERATOR_TOKEN ?? `e2e-operator-${port}-${Date.now()}`;
  const args = [
    'serve',
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', dataDir,
    '--hold-seconds', '3600',
    '--operator-token', operatorToken,
  ];
  const server = spawn(bin, args, {
    cwd: repoRoot,
    stdio: ['ignore', log, log],
  });
  let exited: string | null = null;
  server.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });

  const stop = async () => {
    if (exited === null && server.pid !== undefined) {
      process.kill(server.pid, 'SIGTERM');
      for (let waited = 0; exited === null && waited < STOP_TIMEOUT_MS; waited += 100) {
        await sleep(100);
      }
      if (exited === null) process.kill(server.pid, 'SIGKILL');
    }
    fs.closeSync(log);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`steadfast ${exited} before it was ready; see ${logPath}:\n${fs.readFileSync(logPath, 'utf8')}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`steadfast did not answer ${url}/healthz within ${READY_TIMEOUT_MS} ms; see ${logPath}`);
    }
    await sleep(100);
  }

  process.env.STEADFAST_URL = url;
  process.env.STEADFAST_OPERATOR_TOKEN = operatorToken;
  return stop;
}
