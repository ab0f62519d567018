/**
 * The connection to an ssh:// engine: `docker system dial-stdio` run over SSH, as the docker CLI
 * does. Replaces docker-modem's own, which accepts any host key and uses the SSH agent only when
 * DOCKER_HOST itself is ssh://: here the host key must be in known_hosts (ssh-trust.ts) and every
 * ssh:// engine logs in with the agent or the identity files. Each HTTP connection is one SSH
 * connection, kept open for the next request a while: a login and a remote `docker` process per
 * request took seconds each (measured: about 2.5 s on a loaded machine).
 */
import { Agent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';
import { preferredAlgorithms } from './known-hosts.js';
import { DialStdio } from './ssh-stream.js';
import {
  hostKeyRefusal,
  knownHostsFiles,
  loadKnownHosts,
  loginMethods,
  loginRefusal,
  SshEngineError,
  type SshTarget,
} from './ssh-trust.js';

/** ssh2 marks its errors with a level; these are remarks on the way, after which it tries the next key. */
const passing = (err: Error & { level?: string }) =>
  err.level === 'agent' || (err.level === 'client-authentication' && !/All configured authentication methods failed/.test(err.message));

/** An idle connection is closed after this long. */
const IDLE_MS = 10_000;
/**
 * Logins under way at once per engine. sshd drops connections past MaxStartups (10 by default)
 * that have not logged in yet: 24 requests at once lost 13 of them that way.
 */
const DIALS = 6;

const dialFailed = (t: SshTarget, code: number, said: string) =>
  new SshEngineError(
    `on ${t.host}, \`docker system dial-stdio\` exited with ${code}${said ? `: ${said}` : ''}`,
    `${t.username} on ${t.host} needs the docker client and access to its engine (\`ssh -p ${t.port} ${t.username}@${t.host} docker info\` must work)`,
  );

async function dial(t: SshTarget): Promise<DialStdio> {
  const files = knownHostsFiles();
  const [known, login] = await Promise.all([loadKnownHosts(files), loginMethods(t.username)]);
  const prefer = preferredAlgorithms(known, t.host, t.port);
  return new Promise((resolve, reject) => {
    // Our own socket, so that an idle connection can be unref'd (it must not keep a CLI running).
    const tcp = connect({ host: t.host, port: t.port });
    const conn = new ssh2.Client();
    let refusal: SshEngineError | undefined;
    let stream: DialStdio | undefined;
    const fail = (err: Error) => {
      if (stream) stream.destroy(err);
      else reject(refusal ?? err);
      conn.end();
    };
    const notes: string[] = [];
    conn.on('error', (err: Error & { level?: string }) => {
      if (err.level === 'agent') notes.push(`the SSH agent failed: ${err.message}`);
      if (passing(err)) return;
      fail(err.level === 'client-authentication' ? loginRefusal(t, [...login.tried, ...notes]) : err);
    });
    conn.on('close', () => {
      if (!stream) fail(refusal ?? new Error(`the SSH connection to ${t.host} port ${t.port} closed before the engine answered`));
    });
    conn.once('ready', () => {
      conn.exec('docker system dial-stdio', (err, channel) => {
        if (err) return fail(err);
        channel.once('close', () => conn.end());
        // A remote `docker` that is missing or may not reach its engine says why on stderr and exits.
        stream = new DialStdio(channel, tcp, (code, said) => dialFailed(t, code, said));
        resolve(stream);
      });
    });
    conn.connect({
      sock: tcp,
      host: t.host,
      port: t.port,
      username: t.username,
      authHandler: login.methods,
      // Ask first for the key types known_hosts holds for this host, as ssh does.
      ...(prefer.length
        ? {
            algorithms: {
              serverHostKey: { remove: prefer, prepend: prefer } as unknown as ssh2.AlgorithmList<ssh2.ServerHostKeyAlgorithm>,
            },
          }
        : {}),
      hostVerifier: (key: Buffer) => {
        refusal = hostKeyRefusal(t, key, known, files);
        return refusal === undefined;
      },
      readyTimeout: 20_000,
    });
  });
}

/** HTTP over dial-stdio channels, kept alive between requests while they are idle. */
class SshAgent extends Agent {
  readonly #idle = new WeakMap<Duplex, NodeJS.Timeout>();
  readonly #dials = pLimit(DIALS);

  constructor(private readonly target: SshTarget) {
    super({ keepAlive: true, maxFreeSockets: 4 });
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    this.#dials(() => dial(this.target)).then(
      (stream) => callback?.(null, stream),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    // Node's types say void; its agent keeps the socket only when this returns true.
    const keep = (super.keepSocketAlive(socket) as unknown as boolean) !== false;
    if (keep) this.#idle.set(socket, setTimeout(() => socket.destroy(), IDLE_MS).unref());
    return keep;
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    clearTimeout(this.#idle.get(socket));
    super.reuseSocket(socket, request);
  }
}

/** The HTTP agent of one ssh:// engine (docker-modem sends every request through it). */
export function sshAgent(t: SshTarget): Agent {
  return new SshAgent(t);
}

export { SshEngineError };
