// Jest ignores `testTimeout` inside a `projects` entry, so the e2e budget is set here: real
// round trips through Synapse (and a fake LLM) take seconds, not jest's default 5 s.
import { basename, join } from 'node:path';
import { expect, jest } from '@jest/globals';
import winston from 'winston';
import { addLogTransport } from '../../src/logging.js';
import { logsDir } from './helpers/logScan.js';
import { readState } from './helpers/state.js';

jest.setTimeout(60_000);

// Every line the in-process bridges of this file log, at the most verbose level, also goes to
// a file of the run (the console keeps PERSONAS_LOG_LEVEL): globalTeardown scans them all for
// secrets (helpers/logScan.ts).
const testFile = basename(expect.getState().testPath ?? 'unknown');
addLogTransport(new winston.transports.File({ filename: join(logsDir(readState().runDir), `${testFile}.log`), level: 'silly' }));
