// Jest ignores `testTimeout` inside a `projects` entry, so the e2e budget is set here: real
// round trips through Synapse (and a fake LLM) take seconds, not jest's default 5 s.
import { jest } from '@jest/globals';

jest.setTimeout(60_000);
