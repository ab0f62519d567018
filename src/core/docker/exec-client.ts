import pLimit from 'p-limit';
import { LabError } from '../errors.js';
import type { ContainerInfo } from './containers-client.js';
import type { Dial } from './dial.js';
import { type ExecOptions, type ExecResult, execInContainer } from './exec.js';
import { ReaderPool } from './reader.js';
import { RelayPool } from './relay.js';

/** Commands in running containers, argv only (see exec.ts), through the dial like every call. */
export class ExecClient {
  // A bounded number of execs at once: 50 parallel calls do not become 50 streams in memory.
  readonly #execs = pLimit(16);

  /** kept readers (reader.ts) for commands asked with `reuse` */
  readonly readers: ReaderPool;
  /** kept gRPC relays (relay.ts) into containers' loopback APIs */
  readonly relays: RelayPool;

  constructor(private readonly dial: Dial) {
    this.readers = new ReaderPool((id) => dial.api.getContainer(id));
    this.relays = new RelayPool((id) => dial.api.getContainer(id));
  }

  /** Run argv in a running container, given its fresh inspect; `name` is what the user calls it. */
  async run(info: ContainerInfo, name: string, opts: ExecOptions): Promise<ExecResult> {
    if (!info.State.Running || info.State.Restarting) {
      throw new LabError('CONFLICT', `'${name}' is not running (${info.State.Status})`, {
        hint: info.State.Restarting
          ? 'its main process keeps exiting; look at `docker logs` for the reason'
          : 'start it first (daemon_start / host_start)',
      });
    }
    return this.runListed(info.Id, opts);
  }

  /**
   * Run argv in a container just listed as running (by label, many at once: a topology's
   * status), without inspecting it first; an exec in a container that stopped since fails.
   */
  runListed(id: string, opts: ExecOptions): Promise<ExecResult> {
    const once = () => this.#execs(() => this.dial.run('container.exec', id, (api) => execInContainer(api.getContainer(id), opts)));
    if (!opts.reuse || opts.user || opts.env?.length) return once();
    return this.readers.run(id, opts, once);
  }
}
