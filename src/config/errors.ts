/** Configuration problems, all of them at once, each naming the setting and where it came from. */
export class ConfigError extends Error {
  readonly code = 'WG_ERR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  override get name(): string {
    return 'ConfigError';
  }
}
