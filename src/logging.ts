import winston from 'winston';
import { LogService } from '@vector-im/matrix-bot-sdk';
import { Logger as BridgeLogger } from 'matrix-appservice-bridge';

export type Logger = winston.Logger;

// matrix-bot-sdk logs every failed HTTP request at ERROR, including the ones we expect and
// handle (probing whether a persona is registered yet, a membership lookup refused in a room
// the bot is not in). Our callers log real failures with room and persona context, so the
// library's copy of each is noise that hides them.
LogService.muteModule('MatrixHttpClient');

// Before configureLogging(): PERSONAS_LOG_LEVEL, else quiet under jest (NODE_ENV=test).
let root: winston.Logger = winston.createLogger({
  level: process.env.PERSONAS_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
  transports: [new winston.transports.Console()],
  format: winston.format.simple(),
});

/**
 * Configures the process-wide logger. Called once at start; modules take child loggers so
 * every line carries its module name (and, where useful, room and persona).
 */
export function configureLogging(opts: { level: string; json: boolean }): void {
  const format = opts.json
    ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp(),
        winston.format.errors({ stack: true }),
        winston.format.printf(({ timestamp, level, message, module, stack, ...rest }) => {
          const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${level} [${String(module ?? 'main')}] ${String(message)}${extra}${stack ? `\n${String(stack)}` : ''}`;
        }),
      );
  root = winston.createLogger({ level: opts.level, format, transports: [new winston.transports.Console()] });
  children.clear();
  // Route matrix-appservice-bridge's own logging through ours, at one level lower so its
  // per-request chatter does not drown ours.
  BridgeLogger.configure({ console: opts.level === 'debug' || opts.level === 'silly' ? 'debug' : 'warn' });
}

const children = new Map<string, winston.Logger>();

function childFor(module: string): winston.Logger {
  let child = children.get(module);
  if (!child) {
    child = root.child({ module });
    children.set(module, child);
  }
  return child;
}

export function getLogger(module: string): winston.Logger {
  // Resolved at call time, so loggers created at import time follow the configureLogging()
  // that main runs later.
  return new Proxy({} as winston.Logger, {
    get(_target, prop: keyof winston.Logger) {
      const child = childFor(module);
      const value = child[prop];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(child) : value;
    },
  });
}
