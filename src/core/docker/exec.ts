import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';

export interface ExecOptions {
  /** argv; never passed through a shell */
  command: string[];
  timeoutS?: number;
  maxOutputBytes?: number;
  user?: string;
  env?: string[];
  /**
   * through the container's kept reader (reader.ts) when it has one: for commands read again and
   * again (daemon states), whose answer is the same either way
   */
  reuse?: boolean;
}

export interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  truncated: boolean;
}

export const DEFAULT_EXEC_TIMEOUT_S = 30;
export const DEFAULT_MAX_OUTPUT = 1024 * 1024;

const EXEC_MARK = 'NSLAB_EXEC_ID';

/**
 * Kill whatever a timed-out exec left running, found by the mark in its environment (the mark is
 * ours, a UUID, passed as an argument: no user string reaches this shell).
 */
async function killMarked(container: Docker.Container, mark: string): Promise<void> {
  const script = `for p in /proc/[0-9]*; do if tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qx "${EXEC_MARK}=$1"; then kill -9 "\${p#/proc/}" 2>/dev/null; fi; done; true`;
  const exec = await container.exec({ Cmd: ['sh', '-c', script, 'sh', mark], AttachStdout: false, AttachStderr: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 10_000);
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    stream.resume();
  });
}

/** Keeps the first `limit` bytes and counts the rest, so a chatty command cannot exhaust memory. */
class CappedSink extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  overflow = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const room = this.limit - this.size;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(part);
      this.size += part.length;
    }
    if (chunk.length > room) this.overflow = true;
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Run argv in a running container, stdout and stderr apart. The Docker API cannot kill an exec,
 * so the timeout is enforced inside the container with `timeout -s KILL` (coreutils is in every
 * lab image), and a client-side deadline a few seconds later stops waiting in any case.
 */
export async function execInContainer(container: Docker.Container, opts: ExecOptions): Promise<ExecResult> {
  const timeoutS = opts.timeoutS ?? DEFAULT_EXEC_TIMEOUT_S;
  const limit = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const argv = ['timeout', '-s', 'KILL', String(timeoutS), ...opts.command];
  // Every process of this exec inherits this mark, even one that left the process group
  // (setsid): a timed-out exec is cleaned up by it.
  const mark = randomUUID();
  const exec = await container.exec({
    Cmd: argv,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ...(opts.user ? { User: opts.user } : {}),
    Env: [...(opts.env ?? []), `${EXEC_MARK}=${mark}`],
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new CappedSink(limit);
  const err = new CappedSink(limit);
  const modem = (container as unknown as { modem: { demuxStream: (s: unknown, o: Writable, e: Writable) => void } }).modem;
  modem.demuxStream(stream, out, err);

  const started = Date.now();
  let deadlineHit = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(
      () => {
        deadlineHit = true;
        stream.destroy();
        resolve();
      },
      (timeoutS + 5) * 1000,
    );
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
  const info = await exec.inspect();
  const elapsedS = (Date.now() - started) / 1000;
  const exitCode = info.ExitCode ?? -1;
  // `timeout` exits 137 after KILL; only count it as a timeout when the time really ran out.
  const timedOut = deadlineHit || (exitCode === 137 && elapsedS >= timeoutS - 0.5) || info.Running === true;
  if (timedOut) await killMarked(container, mark).catch(() => undefined);
  return {
    exit_code: exitCode,
    stdout: out.text(),
    stderr: err.text(),
    timed_out: timedOut,
    truncated: out.overflow || err.overflow,
  };
}
