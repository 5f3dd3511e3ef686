import { WasmGuardError } from '../errors.js';

/** Configuration problems, all of them at once, each naming the setting and where it came from. */
export class ConfigError extends WasmGuardError {
  readonly code = 'WG_ERR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
