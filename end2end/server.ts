import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// Starts `steadfast serve` on a free port of 127.0.0.1 with a fresh data
// directory and a known operator token, and waits until GET /healthz
// answers. `stop` ends the server by its PID (SIGTERM, then SIGKILL after
// STOP_TIMEOUT_MS) and removes the data directory. Used by global-setup.ts
// for the suite's server and by specs that need a differently configured one.
//
// STEADFAST_BIN overrides the binary (default: ../target/debug/steadfast).
// The server's output goes to artifacts/<logName>.log.

export const repoRoot = path.resolve(__dirname, '..');
const artifacts = path.join(__dirname, 'artifacts');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export interface RunningServer {
  url: string;
  operatorToken: string;
  /** A customer token (`steadfast token`) for `user`, signed with this server's secret. */
  customerToken: (user: string) => string;
  stop: () => Promise<void>;
}

export function binary(): string {
  const bin = path.resolve(
    repoRoot,
    process.env.STEADFAST_BIN ?? path.join('target', 'debug', 'steadfast'),
  );
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} not found: run scripts/build.sh first (or set STEADFAST_BIN)`);
  }
  return bin;
}

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

export async function startServer(options: {
  extraArgs?: string[];
  logName: string;
  operatorToken?: string;
}): Promise<RunningServer> {
  const bin = binary();
  fs.mkdirSync(artifacts, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'steadfast-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = path.join(artifacts, `${options.logName}.log`);
  const log = fs.openSync(logPath, 'w');
  const operatorToken = options.operatorToken ?? `e2e-operator-${port}-${Date.now()}`;
  const jwtSecret = `e2e-jwt-${port}-${Date.now()}`;

  // The working directory is the repository, where target/site is.
  const args = [
    'serve',
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', dataDir,
    '--operator-token', operatorToken,
    '--jwt-secret', jwtSecret,
    ...(options.extraArgs ?? []),
  ];
  const server: ChildProcess = spawn(bin, args, { cwd: repoRoot, stdio: ['ignore', log, log] });
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

  const customerToken = (user: string) =>
    execFileSync(bin, ['token', '--user', user, '--jwt-secret', jwtSecret], {
      encoding: 'utf8',
      timeout: 10_000,
    }).trim();
  return { url, operatorToken, customerToken, stop };
}
