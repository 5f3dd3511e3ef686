import { WasmGuardError } from '../errors.js';

/** A request named a guard that is not loaded. */
export class UnknownGuardError extends WasmGuardError {
  readonly code = 'WG_ERR_UNKNOWN_GUARD';
  constructor(
    readonly guard: string,
    known: string[],
  ) {
    super(`unknown guard "${guard}"; loaded guards: ${known.join(', ') || 'none'}`);
  }
}
