import type Docker from 'dockerode';
import { LabError } from '../errors.js';
import { SshEngineError, sshAgent } from './ssh.js';
import { defaultUser } from './ssh-trust.js';

export function describeHost(dockerHost: string | undefined): string {
  return dockerHost ?? 'unix:///var/run/docker.sock';
}

/** dockerode options from a DOCKER_HOST URL (unix://, tcp://, ssh://). */
export function dockerOptions(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    throw new LabError('INVALID_INPUT', `DOCKER_HOST=${dockerHost} is not a URL`, {
      hint: 'use unix:///var/run/docker.sock, tcp://host:2375 or ssh://user@host',
    });
  }
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'tcp:':
    case 'http:':
      return { protocol: 'http', host: url.hostname, port: Number(url.port || 2375) };
    case 'https:':
      return { protocol: 'https', host: url.hostname, port: Number(url.port || 2376) };
    case 'ssh:': {
      // Plain HTTP over our own SSH connection (ssh.ts): docker-modem's would accept any host key.
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = Number(url.port || 22);
      const username = url.username ? decodeURIComponent(url.username) : defaultUser();
      // docker-modem passes `agent` on to http.request; dockerode's types do not list it.
      return { protocol: 'http', host, port, agent: sshAgent({ host, port, username }) } as Docker.DockerOptions;
    }
    default:
      throw new LabError('INVALID_INPUT', `DOCKER_HOST=${dockerHost}: unsupported scheme ${url.protocol}`, {
        hint: 'use unix:///path, tcp://host:port or ssh://user@host',
      });
  }
}

/** `name`: the engine's name in NSLAB_ENGINES, when there are several (the user knows it by that). */
export function unreachable(dockerHost: string | undefined, err: unknown, name?: string): LabError {
  // The engine may well answer: SSH refused to trust or log in to its host, and says what to do.
  if (err instanceof SshEngineError) {
    const which =
      name !== undefined ? `engine '${name}' (${describeHost(dockerHost)})` : `the Docker engine at ${describeHost(dockerHost)}`;
    return new LabError('DOCKER_UNAVAILABLE', `${which} cannot be used: ${err.reason}`, { hint: err.todo, cause: err });
  }
  const why = err instanceof Error ? err.message : String(err);
  if (name !== undefined)
    return new LabError('DOCKER_UNAVAILABLE', `engine '${name}' does not answer (${describeHost(dockerHost)}): ${why}`, {
      hint: `start the Docker engine '${name}' or fix its address in NSLAB_ENGINES; what runs on the other engines keeps running`,
      cause: err,
    });
  return new LabError(
    'DOCKER_UNAVAILABLE',
    `cannot reach the Docker engine at ${describeHost(dockerHost)}: ${why}; start dockerd or set DOCKER_HOST`,
    { cause: err },
  );
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** True for errors that mean "no engine there", as opposed to an engine that answered with an error. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof SshEngineError) return true;
  const e = err as { code?: string; level?: string; statusCode?: number } | undefined;
  // ssh2 marks the errors of an SSH connection (handshake, timeout, DNS) with a level.
  return !!e && e.statusCode === undefined && ((!!e.code && CONNECTION_CODES.has(e.code)) || typeof e.level === 'string');
}

/** The engine's HTTP status of a failed call, if it answered. */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

/** Message the engine gave for a failed call, without dockerode's "(HTTP code ...)" prefix noise. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e?.json?.message ?? e?.message ?? String(err);
}
