/** The DIFC reference monitor: pure functions over labels, no I/O. */
export * from './types.js';
export { DifcError, JsonPointerError, LabelError, ResponseLabelError } from './errors.js';
export type { JsonPointerProblem, ResponseLabelProblem } from './errors.js';
export { formatTags, Label, Labels, normalizeTags, WILDCARD } from './labels.js';
export type { LabelsLike, ResourceLabelsLike, SubsetCheck } from './labels.js';
export {
  checkFlow,
  checkRule,
  denialReason,
  describeViolation,
  evaluate,
  FLOW_RULES,
  propagateRead,
  propagationReason,
  resourceName,
  rulesFor,
} from './flow.js';
export type { Decision, Dimension, EvaluateInput, Evaluation, FlowRule, FlowRuleSpec, Party, RuleCheck } from './flow.js';
export {
  accumulatesReadLabels,
  coarseCheck,
  filteredItemsBlockResponse,
  isMode,
  mustLabelResponse,
  parseOperation,
  responseCheckNeeded,
} from './pipeline.js';
export type { CoarseDecision, CoarseOutcome } from './pipeline.js';
export {
  arrayIndex,
  escapeToken,
  formatPointer,
  hasPointer,
  isPrefix,
  parsePointer,
  replaceAt,
  resolvePointer,
  unescapeToken,
} from './json-pointer.js';
export type { JsonPointer } from './json-pointer.js';
export { isMcpEnvelope, jsonEqual, prepareResult } from './mcp.js';
export type { McpDocument, PreparedResult } from './mcp.js';
export { GUARD_MAX_DEPTH, parseStrictJson } from './strict-json.js';
export type { StrictJson } from './strict-json.js';
export { withoutPaths } from './prune.js';
export { labelResponse } from './response.js';
export type { FilteredItem, ItemLabels, LabelResponseInput, LabelSource, PartKind, ResponseCheck, ResponseCounts } from './response.js';
