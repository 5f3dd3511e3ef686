import { Type, type Static } from 'typebox';
import { Decision, DecisionId, errorResponses, GuardName, Labels, Mode, Operation, Policy, ResourceLabels, ToolName } from './common.js';

const EXAMPLE_POLICY = { 'allow-only': { repos: ['octo-org/app'], 'min-integrity': 'approved' } };

export const AgentLabelBody = Type.Object(
  { guard: GuardName, policy: Policy },
  { additionalProperties: false, examples: [{ guard: 'github', policy: EXAMPLE_POLICY }] },
);

export const AgentLabelReply = Type.Object({
  agent: Labels,
  mode: Mode,
  normalized_policy: Type.Unknown({ description: 'The policy as the guard understood it' }),
});

const evaluateFields = {
  guard: GuardName,
  tool: ToolName,
  args: Type.Optional(Type.Unknown({ description: 'Tool arguments, passed to the guard as tool_args' })),
  agent: Type.Optional({ ...Labels, description: "The agent's current labels; default: what label_agent gives for the policy, else empty" }),
  mode: Type.Optional({ ...Mode, description: "Default: the guard's configured mode, then label_agent's difc_mode, then the server default" }),
  policy: Type.Optional({ ...Policy, description: "Default: the guard's configured policy; with none, label_agent is not called" }),
};

export const EvaluateBody = Type.Object(evaluateFields, {
  additionalProperties: false,
  examples: [{ guard: 'github', tool: 'list_issues', args: { owner: 'octo-org', repo: 'app', private: true }, policy: EXAMPLE_POLICY }],
});

export const EvaluateReply = Type.Object({
  decision_id: DecisionId,
  decision: Decision,
  operation: Operation,
  resource: ResourceLabels,
  check_response: Type.Boolean({ description: 'The gateway must send the tool result to /v1/evaluate/response before the agent sees it' }),
  mode: Mode,
  agent: { ...Labels, description: 'The agent labels the decision used' },
  reason: Type.Optional(Type.String({ description: 'Why it was denied, or why the response must be checked' })),
});

export const EvaluateResponseBody = Type.Object(
  {
    ...evaluateFields,
    result: Type.Unknown({ description: 'The tool result, e.g. an MCP CallToolResult' }),
    operation: Type.Optional({ ...Operation, description: 'As returned by /v1/evaluate; when omitted the resource is labelled again' }),
    resource: Type.Optional({ ...ResourceLabels, description: 'As returned by /v1/evaluate; when omitted the resource is labelled again' }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        guard: 'github',
        tool: 'list_issues',
        args: { owner: 'octo-org', repo: 'app' },
        result: { items: [{ number: 1, author_association: 'MEMBER' }, { number: 2, author_association: 'NONE' }] },
        policy: EXAMPLE_POLICY,
        mode: 'filter',
      },
    ],
  },
);

const FilteredItem = Type.Object({
  path: Type.String({ description: 'JSON Pointer of the removed item in the (unwrapped) result' }),
  reason: Type.String(),
  secrecy_violation: Type.Boolean(),
  integrity_violation: Type.Boolean(),
  description: Type.Optional(Type.String()),
});

const ItemLabels = Type.Object({
  path: Type.String(),
  kind: Type.Union([Type.Literal('item'), Type.Literal('result'), Type.Literal('envelope')]),
  source: Type.Union([Type.Literal('labeled'), Type.Literal('default'), Type.Literal('resource')]),
  allowed: Type.Boolean({ description: 'Whether the agent, as it was before this response, may read it' }),
  description: Type.Optional(Type.String()),
  secrecy: Type.Array(Type.String()),
  integrity: Type.Array(Type.String()),
});

export const EvaluateResponseReply = Type.Object({
  decision_id: DecisionId,
  decision: Decision,
  result: Type.Unknown({ description: 'The result to hand to the agent: filtered in filter mode, null when denied' }),
  filtered: Type.Array(FilteredItem),
  agent: { ...Labels, description: 'Agent labels after reading the result (moved only in propagate mode)' },
  labels: Type.Array(ItemLabels, { description: 'Labels of each part of the result' }),
  operation: Operation,
  mode: Mode,
  reason: Type.Optional(Type.String()),
});

export type AgentLabelBodyT = Static<typeof AgentLabelBody>;
export type EvaluateBodyT = Static<typeof EvaluateBody>;
export type EvaluateResponseBodyT = Static<typeof EvaluateResponseBody>;

export const decisionErrors = errorResponses;
