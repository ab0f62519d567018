import { createLogger } from '../../log.js';
import type { CallLog } from './dial.js';

/**
 * Every Docker call as a debug line on stderr (op, object id, engine, ms, error), when the log
 * level asks for it; nothing, not even the logger, otherwise.
 */
export function dockerCallLog(level: string): CallLog | undefined {
  if (level !== 'debug' && level !== 'trace') return undefined;
  const log = createLogger(level).child({ layer: 'docker' });
  return (entry) => (entry.error ? log.debug(entry, 'docker call failed') : log.debug(entry, 'docker call'));
}
