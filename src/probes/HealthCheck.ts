import type { CheckResult } from './CheckResult.js';

/** One entry of /health: the database, the homeserver (healthy unless its result is `fail`). */
export interface HealthCheck {
  name: string;
  check(): Promise<CheckResult> | CheckResult;
}
