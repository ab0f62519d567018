// HEALTHCHECK of the server image: GET /healthz of the `serve` that is the container's main process,
// at the address and port on its command line. A container running another command (mcp on stdio,
// call) has no HTTP server and counts as healthy.
import { readFileSync } from 'node:fs';

const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
if (!argv.includes('serve')) process.exit(0);
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return i >= 0 ? argv[i + 1] : eq ? eq.slice(name.length + 3) : dflt;
};
const host = flag('host', '127.0.0.1');
const port = flag('port', '5010');
// A wildcard address is reached on loopback; an IPv6 literal needs brackets in a URL.
const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
try {
  const r = await fetch(`http://${target}:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(r.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthz: ${err.message}\n`);
  process.exit(1);
}
