import { inspect } from 'node:util';
import winston from 'winston';
import { LogFile, type LogFileConfig } from './logFile.js';
import { dropLinesToClosedOutput } from './standardStreams.js';
import { LogLevel, LogService, type ILogger } from '@vector-im/matrix-bot-sdk';
import { Logger as BridgeLogger } from 'matrix-appservice-bridge';
import { isSecretKey, REDACTED, redactText, redactValue } from './redaction.js';

export type Logger = winston.Logger;

/**
 * Control characters (C0, DEL, C1) and Unicode line/paragraph separators, as `\n`, `\x1b`,
 * `\u2028`... Anything that reaches a log line may come from outside (a txnId, a message
 * body, a displayname); escaped, a newline in it cannot start a forged log line and an escape
 * sequence cannot rewrite the terminal.
 */
export function escapeControlChars(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A stack trace keeps its line breaks (it is read by people), but each of its lines is escaped
 * and indented, so no part of it (the error message comes first, and may carry outside input)
 * can look like a record of its own: records start with a timestamp in column 0.
 */
function indentedStack(stack: string): string {
  return stack
    .split('\n')
    .map((line) => `    ${escapeControlChars(line).trimStart()}`)
    .join('\n');
}

/** One record per line: `TIME LEVEL [module] message {extra json}`, then an indented stack. */
const plainLine = winston.format.printf(({ timestamp, level, message, module, stack, ...rest }) => {
  // JSON.stringify escapes control characters itself.
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  const head = `${String(timestamp)} ${level} [${escapeControlChars(String(module ?? 'main'))}] ${escapeControlChars(String(message))}${extra}`;
  return stack ? `${head}\n${indentedStack(String(stack))}` : head;
});

/**
 * An Error passed as metadata (`log.error('...', { error: err })`) serialises to `{}`; this
 * turns each into its message, and its stack into the record's stack.
 */
const errorsInMeta = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (!(value instanceof Error)) continue;
    info[key] = value.message;
    if (info.stack === undefined && value.stack) info.stack = value.stack;
  }
  return info;
});

/**
 * Every field of a record made safe (src/redaction.ts): known secrets and credential-shaped
 * text replaced, fields named like secrets blanked, library objects (a request error carrying
 * its `Authorization` header) reduced to what they would serialise to, redacted.
 */
const redactFields = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = isSecretKey(key) ? REDACTED : redactValue(info[key]);
  }
  return info;
});

// winston keeps the finished line under this symbol (triple-beam's MESSAGE).
const MESSAGE = Symbol.for('message');

/** The finished line once more, by value: whatever a format added after redactFields. */
const redactLine = winston.format((info) => {
  const line = (info as unknown as Record<symbol, unknown>)[MESSAGE];
  if (typeof line === 'string') (info as unknown as Record<symbol, unknown>)[MESSAGE] = redactText(line);
  return info;
});

/** The steps every record goes through before its final shape (plain or JSON). */
const recordFormat = (): winston.Logform.Format[] => [winston.format.timestamp(), winston.format.errors({ stack: true }), errorsInMeta(), redactFields()];

export const plainFormat = winston.format.combine(...recordFormat(), plainLine, redactLine());
export const jsonFormat = winston.format.combine(...recordFormat(), winston.format.json(), redactLine());

/** Set once standard output is gone (its reader closed the pipe): console lines are dropped. */
let consoleClosed = false;

/** The console transport (winston's writes everything to standard output), silent once that is closed. */
function consoleTransport(): winston.transport {
  const transport = new winston.transports.Console();
  transport.silent = consoleClosed;
  return transport;
}

// Before configureLogging(): PERSONAS_LOG_LEVEL, else quiet under jest (NODE_ENV=test).
let root: winston.Logger = winston.createLogger({
  level: process.env.PERSONAS_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
  transports: [consoleTransport()],
  format: plainFormat,
});

/**
 * Configures the process-wide logger. Called once at start; modules take child loggers so
 * every line carries its module name (and, where useful, room and persona).
 */
export function configureLogging(opts: { level: string; json: boolean; file?: LogFileConfig }): void {
  // JSON lines escape control characters by construction (JSON string syntax).
  const format = opts.json ? jsonFormat : plainFormat;
  root = winston.createLogger({ level: opts.level, format, transports: [consoleTransport(), ...extraTransports] });
  children.clear();
  if (currentLogFile) void currentLogFile.close();
  currentLogFile = opts.file ? new LogFile(root, opts.file) : null;
  // A closed terminal pipe (Ctrl-C killed its tee) must not end the bridge mid-shutdown.
  dropLinesToClosedOutput(({ stream, code }) => {
    if (stream !== 'stdout') return;
    consoleClosed = true;
    for (const transport of root.transports) if (transport instanceof winston.transports.Console) transport.silent = true;
    root.child({ module: 'logging' }).warn(`standard output is closed (${code}): console lines are dropped from now on`);
  });
}

const extraTransports: winston.transport[] = [];

/**
 * One more destination for every record, after the same formatting and redaction (a collector;
 * the e2e suite's capture of every line it produced). A transport with a level of its own
 * receives that level whatever the console's. Kept across configureLogging().
 */
export function addLogTransport(transport: winston.transport): void {
  extraTransports.push(transport);
  root.add(transport);
}

let currentLogFile: LogFile | null = null;

/** The log file of `logging.file`, when configured: for SIGHUP and `logs rotate`. */
export function logFile(): LogFile | null {
  return currentLogFile;
}

/**
 * Modules of matrix-bot-sdk whose lines are noise to us. MatrixHttpClient logs every failed
 * request at ERROR, including the ones we expect and handle (probing whether a persona is
 * registered yet, a membership lookup refused in a room the bot is not in); our callers log
 * real failures with room and persona context.
 */
const MUTED_SDK_MODULES = ['MatrixHttpClient'];

/** The client libraries' lines, one level lower than they think (their chatter must not drown ours). */
const LIBRARY_LEVEL: Record<string, string> = { error: 'warn', warn: 'info', info: 'debug', debug: 'debug', trace: 'silly', verbose: 'silly' };

function libraryLine(args: unknown[]): string {
  return args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : inspect(redactValue(a), { depth: 2, breakLength: Infinity }))).join(' ');
}

/** matrix-bot-sdk's LogService, through our loggers (so one format, JSON when logging.json). */
const botSdkLogger = Object.fromEntries(
  (['info', 'warn', 'error', 'debug', 'trace'] as const).map((level) => [
    level,
    (module: string, ...args: unknown[]) => {
      const ours = LIBRARY_LEVEL[level]!;
      if (MUTED_SDK_MODULES.includes(module) || !root.isLevelEnabled(ours)) return;
      childFor(`sdk:${module}`).log(ours, libraryLine(args));
    },
  ]),
) as unknown as ILogger;

/**
 * matrix-appservice-bridge's Logger writes `{ module, data: [...] }` entries to its root's
 * winston logger; this stands in for that logger and re-logs each entry through ours.
 */
const bridgeLibraryLogger = {
  log(level: string, entry: { module?: string; data?: unknown[] }): void {
    const ours = LIBRARY_LEVEL[level.toLowerCase()] ?? 'debug';
    if (root.isLevelEnabled(ours)) childFor(`bridge:${entry.module ?? 'lib'}`).log(ours, libraryLine(entry.data ?? []));
  },
  close(): void {},
};

/** Installs our loggers into both client libraries; our levels decide what is written. */
function routeLibraryLogging(): void {
  LogService.setLogger(botSdkLogger);
  LogService.setLevel(LogLevel.DEBUG);
  // The bridge library has no hook for a custom logger: its root keeps a winston logger in a
  // field we replace (its configure() would add a Console transport with a format of its own).
  (BridgeLogger.root as unknown as { winstonLog: unknown }).winstonLog = bridgeLibraryLogger;
}

const children = new Map<string, winston.Logger>();
routeLibraryLogging();

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
  // that main runs later. The methods are made once per child logger, not per call.
  let bound: { child: winston.Logger; methods: Map<PropertyKey, unknown> } | null = null;
  return new Proxy({} as winston.Logger, {
    get(_target, prop: keyof winston.Logger) {
      const child = childFor(module);
      if (bound?.child !== child) bound = { child, methods: new Map() };
      if (bound.methods.has(prop)) return bound.methods.get(prop);
      const value = child[prop];
      const method = typeof value === 'function' ? levelGuarded(child, prop, (value as (...a: unknown[]) => unknown).bind(child)) : value;
      if (typeof value === 'function') bound.methods.set(prop, method);
      return method;
    },
  });
}

/**
 * winston runs a record through every format step (timestamp, redaction, the line) before its
 * transports look at the level, so a debug line costs its full formatting at level info: ~5% of
 * the bridge's CPU under ingest (BENCHMARKS.md). A level method checks first whether any
 * transport takes that level (isLevelEnabled looks at each transport's own level too).
 */
function levelGuarded(child: winston.Logger, prop: PropertyKey, method: (...a: unknown[]) => unknown): (...a: unknown[]) => unknown {
  if (typeof prop !== 'string' || !Object.hasOwn(child.levels, prop)) return method;
  return (...args: unknown[]) => (child.isLevelEnabled(prop) ? method(...args) : child);
}
