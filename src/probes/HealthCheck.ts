/** One entry of /health: the database, the homeserver. */
export interface HealthCheck {
  name: string;
  /** Resolves with a short detail when healthy; throws (or rejects) when not. */
  check(): Promise<string> | string;
}
