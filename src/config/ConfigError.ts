/**
 * A configuration problem, always naming the key path (e.g. `llm.timeout_seconds`) so an
 * admin can find the line to fix without reading our source.
 */
export class ConfigError extends Error {
  constructor(
    readonly configPath: string,
    readonly problem: string,
  ) {
    super(`Config error at '${configPath}': ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Several problems found at once: reported together so one edit-run cycle fixes them all. */
export class ConfigErrors extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
  }
}
