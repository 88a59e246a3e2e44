// The container HEALTHCHECK: GET /health on the bridge's own listener, found from the config
// so a changed appservice.port needs no Dockerfile edit. Exit 0 when healthy, 1 otherwise
// (Docker's contract). Node's fetch, since slim images have no curl.
//
//   node dist/doctor/healthcheck.js [CONFIG]    (default /config/config.yaml)
import { loadConfig } from '../config/Config.js';
import { fetchJson } from '../probes/fetchJson.js';
import { describeError } from '../util/describeError.js';

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

async function main(): Promise<number> {
  const config = loadConfig(process.argv[2] ?? '/config/config.yaml', {});
  const { bind, port } = config.appservice;
  // A wildcard bind is reached over loopback; a specific address only on itself.
  const host = WILDCARD.has(bind) ? '127.0.0.1' : bind.includes(':') && !bind.startsWith('[') ? `[${bind}]` : bind;
  const { status, json } = await fetchJson(`http://${host}:${port}/health`, { timeoutMs: 5000 });
  process.stdout.write(`${status} ${JSON.stringify(json)}\n`);
  return status === 200 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stdout.write(`unhealthy: ${describeError(err)}\n`);
    process.exit(1);
  },
);
