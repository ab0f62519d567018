import pino from 'pino';

/** Logs go to stderr (fd 2): stdout belongs to JSON-RPC on `nslab mcp` and to results on `nslab call`. */
export function createLogger(level: string) {
  return pino({ level, base: { app: 'netstream-lab' } }, pino.destination(2));
}
