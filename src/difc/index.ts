/**
 * The DIFC reference monitor: pure functions over labels, no I/O. This is
 * what the layers above use; tests import the module files directly, and
 * the shared types come from types.ts.
 */
export { DifcError } from './errors.js';
export { coarseCheck } from './pipeline.js';
export { prepareResult } from './mcp.js';
export { labelResponse } from './response.js';
export type { FilteredItem, ItemLabels } from './response.js';
