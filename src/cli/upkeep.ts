import type { Lab } from '../core/lab.js';
import type { createLogger } from '../log.js';

/**
 * What every long-running server does beside answering calls: a cheap sync at start (forwarding
 * rules a reboot or a firewall reload dropped come back) and Docker's event stream, so that a lab
 * object removed or stopped by hand is noticed (and logged with its repair) as it happens.
 * It also starts the lab's event stream (src/core/events), whose history is kept in the data folder.
 * Returns the function that stops watching (it resolves once the history is written).
 */
export function startUpkeep(lab: Lab, log: ReturnType<typeof createLogger>): () => Promise<void> {
  void lab.sync
    .restoreRules()
    .then((r) => r.length && log.info({ bridges: r }, 'restored forwarding rules of lab networks'))
    .catch((err: unknown) => log.warn({ err: String(err) }, 'could not check the forwarding rules at start'));
  const started = lab.events.start({
    onDocker: (e) => {
      if (e.drift) log.warn({ object: e.object, name: e.name, action: e.action }, e.drift);
      else log.debug({ object: e.object, name: e.name, action: e.action }, 'docker event');
    },
    onError: (err) => log.warn({ err: String(err) }, 'Docker event stream broke, or the event journal could not be written; going on'),
    onNote: (message) => log.warn(message),
  });
  return async () => {
    const stop = await started.catch(() => undefined);
    await stop?.();
  };
}

/**
 * Stop a server once, on SIGTERM or SIGINT (or `also`, e.g. stdin closing): log why, run `stop`
 * (which lets calls in flight finish), then exit 0, or 1 when stopping failed.
 */
export function stopOnSignals(
  log: ReturnType<typeof createLogger>,
  message: string,
  stop: () => Promise<unknown>,
  also: (trigger: (why: string) => void) => void = () => {},
): void {
  let stopping = false;
  const trigger = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, message);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: String(err) }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => trigger('SIGTERM'));
  process.once('SIGINT', () => trigger('SIGINT'));
  also(trigger);
}
