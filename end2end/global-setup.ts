import { startServer } from './server';

// Starts the suite's server (see server.ts) and publishes its base URL and
// operator token in STEADFAST_URL and STEADFAST_OPERATOR_TOKEN for the tests.
// The returned function (Playwright runs it as the global teardown) stops
// the server by its PID and removes its data dir. Orders wait an hour
// before charging, so a cancel lands in the hold.
export default async function globalSetup() {
  const server = await startServer({
    logName: 'server',
    extraArgs: ['--hold-seconds', '3600'],
    operatorToken: process.env.STEADFAST_OPERATOR_TOKEN,
  });
  process.env.STEADFAST_URL = server.url;
  process.env.STEADFAST_OPERATOR_TOKEN = server.operatorToken;
  return server.stop;
}
