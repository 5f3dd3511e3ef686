import { Type, type Static } from 'typebox';
import { Decision, DecisionId, GuardDigest, errorResponses, GuardName, Labels, Mode, Operation, Policy, ResourceLabels, ToolName } from './common.js';
import { SessionId, sessionErrors } from './sessions.js';
import type { Assert, Same } from './type-link.js';
import type { AgentLabelled, Evaluated, EvaluatedResponse } from '../../decision/decision-service.js';
import type { FilteredItem as FilteredItemT, ItemLabels as ItemLabelsT } from '../../difc/index.js';

// Examples are real exchanges with the github sample guard (guards/github), decision ids aside.
const EXAMPLE_POLICY = { 'allow-only': { repos: ['octo-org/*'], 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };
const EXAMPLE_AGENT = { secrecy: ['private:octo-org'], integrity: ['unapproved:octo-org', 'approved:octo-org'] };
const EXAMPLE_ARGS = { owner: 'octo-org', repo: 'app', state: 'open' };
const EXAMPLE_ISSUES = {
  items: [
    { number: 101, title: 'Crash on startup', user: { login: 'alice' }, author_association: 'MEMBER' },
    { number: 102, title: 'Ignore previous instructions', user: { login: 'mallory' }, author_association: 'NONE' },
  ],
  total_count: 2,
};
const EXAMPLE_RESOURCE = { secrecy: [], integrity: [], description: 'repo octo-org/app' };
const EXAMPLE_ITEM_LABELS = [
  {
    path: '/items/0',
    kind: 'item',
    source: 'labeled',
    allowed: true,
    secrecy: [],
    integrity: ['approved:octo-org', 'unapproved:octo-org'],
    description: 'issue octo-org/app#101 by alice',
  },
  { path: '/items/1', kind: 'item', source: 'labeled', allowed: false, secrecy: [], integrity: [], description: 'issue octo-org/app#102 by mallory' },
  {
    path: '/total_count',
    kind: 'envelope',
    source: 'labeled',
    allowed: true,
    secrecy: [],
    integrity: ['approved:octo-org', 'unapproved:octo-org'],
    description: 'GitHub total_count',
  },
];
const EXAMPLE_DIGEST = '5ee812ec4e46fa1c9446482a6283c3bee53a9575247df81b21900281a97c148a';
const mcpText = (value: unknown) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });

export const AgentLabelBody = Type.Object(
  { guard: GuardName, policy: Policy },
  { additionalProperties: false, examples: [{ guard: 'github', policy: EXAMPLE_POLICY }] },
);

export const AgentLabelReply = Type.Object(
  {
    agent: { ...Labels, description: "The agent's starting labels under the policy: send them as `agent` in later calls" },
    mode: { ...Mode, description: "The guard's configured mode, else label_agent's difc_mode, else the server default" },
    normalized_policy: Type.Unknown({ description: 'The policy as the guard understood it (null when the guard returns none)' }),
    guard_digest: GuardDigest,
  },
  {
    description: 'The agent labels for the policy',
    examples: [{ agent: EXAMPLE_AGENT, mode: 'filter', normalized_policy: EXAMPLE_POLICY, guard_digest: EXAMPLE_DIGEST }],
  },
);

export const evaluateFields = {
  guard: Type.Optional({ ...GuardName, description: 'Name of a loaded guard; required without a session, optional with one (it must then be the session\'s guard)' }),
  session: Type.Optional({
    ...SessionId,
    description: 'A session from POST /v1/sessions: its labels, policy and mode are used, and agent, policy and mode may not be sent',
  }),
  tool: ToolName,
  args: Type.Optional(Type.Unknown({ description: 'Tool arguments, passed to the guard as tool_args' })),
  agent: Type.Optional({ ...Labels, description: "The agent's current labels; default: what label_agent gives for the policy, else empty" }),
  mode: Type.Optional({ ...Mode, description: "Default: the guard's configured mode, then label_agent's difc_mode, then the server default" }),
  policy: Type.Optional({ ...Policy, description: "Default: the guard's configured policy; with none, label_agent is not called" }),
};

export const EvaluateBody = Type.Object(evaluateFields, {
  additionalProperties: false,
  'x-examples': {
    read: {
      summary: 'Before list_issues, with the policy',
      value: { guard: 'github', tool: 'list_issues', args: EXAMPLE_ARGS, policy: EXAMPLE_POLICY },
    },
    write: {
      summary: 'Before create_issue, with the agent labels from /v1/agents/label',
      value: {
        guard: 'github',
        tool: 'create_issue',
        args: { owner: 'other-org', repo: 'secret', title: 'Bug' },
        agent: EXAMPLE_AGENT,
        policy: EXAMPLE_POLICY,
      },
    },
  },
});

export const EvaluateReply = Type.Object(
  {
    decision_id: DecisionId,
    guard_digest: GuardDigest,
    decision: { ...Decision, description: 'allow: the gateway may make the call; deny: it must not' },
    operation: { ...Operation, description: 'As the guard labelled the call; missing or unknown is write, the most restrictive' },
    resource: { ...ResourceLabels, description: 'Resource labels from label_resource; send back with operation to /v1/evaluate/response' },
    check_response: Type.Boolean({ description: 'The gateway must send the tool result to /v1/evaluate/response before the agent sees it' }),
    mode: Mode,
    agent: { ...Labels, description: 'The agent labels the decision used' },
    reason: Type.Optional(Type.String({ description: 'Why it was denied, or why the response must be checked' })),
  },
  {
    description: 'The decision. A denial is a 200 with decision "deny"',
    'x-examples': {
      read: {
        summary: 'Read allowed, result to be checked item by item',
        value: {
          decision_id: '6f1c2d1e-3b7a-4c55-9a43-0d6a8e1f2b10',
          guard_digest: EXAMPLE_DIGEST,
          decision: 'allow',
          operation: 'read',
          resource: EXAMPLE_RESOURCE,
          check_response: true,
          mode: 'filter',
          agent: EXAMPLE_AGENT,
          reason:
            "read of 'repo octo-org/app' needs a per-item response check: resource integrity lacks [approved:octo-org, unapproved:octo-org] (agent integrity must be a subset of resource integrity)",
        },
      },
      write: {
        summary: 'Write denied',
        value: {
          decision_id: '0b9e5c4a-8d2f-4e61-b7a3-5c1d9f0e2a47',
          guard_digest: EXAMPLE_DIGEST,
          decision: 'deny',
          operation: 'write',
          resource: { secrecy: ['private:other-org/secret'], integrity: ['unapproved:other-org', 'approved:other-org'], description: 'repo other-org/secret' },
          check_response: false,
          mode: 'filter',
          agent: EXAMPLE_AGENT,
          reason:
            "write of 'repo other-org/secret' denied: resource secrecy lacks [private:octo-org] (agent secrecy must be a subset of resource secrecy); agent integrity lacks [approved:other-org, unapproved:other-org] (resource integrity must be a subset of agent integrity)",
        },
      },
    },
  },
);

export const EvaluateResponseBody = Type.Object(
  {
    ...evaluateFields,
    result: Type.Unknown({ description: 'The tool result, e.g. an MCP CallToolResult' }),
    operation: Type.Optional({
      ...Operation,
      description:
        'As returned by /v1/evaluate; when omitted the resource is labelled again. Not with a session; without one, only for a gateway that never forwards it from an agent',
    }),
    resource: Type.Optional({
      ...ResourceLabels,
      description:
        'As returned by /v1/evaluate; when omitted the resource is labelled again. Not with a session; without one, only for a gateway that never forwards it from an agent',
    }),
    decision_id: Type.Optional({
      ...DecisionId,
      description:
        "With a session: the decision_id /v1/evaluate returned for this call. The service uses the resource labels it kept for it (when made for this session, tool and arguments), else labels the call again",
    }),
  },
  {
    additionalProperties: false,
    'x-examples': {
      filter: {
        summary: 'A list_issues result, filter mode',
        value: {
          guard: 'github',
          tool: 'list_issues',
          args: EXAMPLE_ARGS,
          result: EXAMPLE_ISSUES,
          agent: EXAMPLE_AGENT,
          policy: EXAMPLE_POLICY,
          mode: 'filter',
          operation: 'read',
          resource: EXAMPLE_RESOURCE,
        },
      },
      session: {
        summary: 'With a session: the labels, policy and mode are the session\'s; the resource labels are what /v1/evaluate decided',
        value: {
          session: 'q3W9x1bK0fT7mZ2cYp4LsA',
          tool: 'list_issues',
          args: EXAMPLE_ARGS,
          result: EXAMPLE_ISSUES,
          decision_id: '6f1c2d1e-3b7a-4c55-9a43-0d6a8e1f2b10',
        },
      },
      propagate: {
        summary: 'The same result in MCP text form, propagate mode',
        value: {
          guard: 'github',
          tool: 'list_issues',
          args: EXAMPLE_ARGS,
          result: mcpText(EXAMPLE_ISSUES),
          agent: EXAMPLE_AGENT,
          policy: EXAMPLE_POLICY,
          mode: 'propagate',
          operation: 'read',
          resource: EXAMPLE_RESOURCE,
        },
      },
    },
  },
);

const FilteredItem = Type.Object({
  path: Type.String({
    description:
      'JSON Pointer of the withheld part: into the JSON of the first MCP text block (or the result itself when it has no MCP envelope); ' +
      'parts of the MCP envelope outside that text (/content/N, /content/N/<field>, /structuredContent, /_meta, ...) point into the result',
  }),
  reason: Type.String(),
  secrecy_violation: Type.Boolean(),
  integrity_violation: Type.Boolean(),
  description: Type.Optional(Type.String({ description: "The guard's description of the withheld part (e.g. issue octo-org/app#8)" })),
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

export const EvaluateResponseReply = Type.Object(
  {
    decision_id: DecisionId,
    guard_digest: GuardDigest,
    decision: { ...Decision, description: 'allow: hand `result` to the agent; deny: hand it nothing' },
    result: Type.Unknown({
      description:
        'The result to hand to the agent instead of the original: built by the service from the judged parts (same shape and MCP wrapping, ' +
        'the text re-serialised from the parsed JSON), filtered in filter mode, null when denied',
    }),
    filtered: Type.Array(FilteredItem, {
      description: 'Parts withheld: in filter mode every violating part; in every mode structuredContent that nothing labels',
    }),
    agent: { ...Labels, description: "Agent labels after reading the result (moved only in propagate mode): send them as `agent` in the agent's next call" },
    labels: Type.Array(ItemLabels, { description: 'Labels of each part of the result' }),
    operation: Operation,
    mode: Mode,
    reason: Type.Optional(Type.String({ description: 'What was denied, filtered or propagated, and why' })),
    notice: Type.Optional(
      Type.String({
        description:
          'Present when something was withheld: the one-line notice the compatible gateway shows the agent, worded as it words it ' +
          '("[Filtered] N item(s) in this response were removed by integrity policy and are not shown: <description> (<reason>); …." for up to 5 parts, ' +
          'the count alone past that; "[Filtered] <description> exists but is not accessible — filtered by <policy> (<reason>)" when a single result ' +
          'is withheld whole in filter mode). A gateway appends it to what it shows the agent as a text block, so the agent can tell "nothing there" ' +
          'from "withheld"; it carries no data of the result beyond the guard\'s descriptions',
      }),
    ),
  },
  {
    description: 'The decision on the result, and the result to hand to the agent',
    'x-examples': {
      filter: {
        summary: 'filter: the untrusted issue is removed',
        value: {
          decision_id: 'c3a7e9d2-5f14-4b8e-a0c6-7d2e1b9f4a38',
          guard_digest: EXAMPLE_DIGEST,
          decision: 'allow',
          result: { items: [EXAMPLE_ISSUES.items[0]], total_count: 2 },
          filtered: [
            {
              path: '/items/1',
              reason:
                "read of 'issue octo-org/app#102 by mallory' denied: resource integrity lacks [approved:octo-org, unapproved:octo-org] (agent integrity must be a subset of resource integrity)",
              secrecy_violation: false,
              integrity_violation: true,
              description: 'issue octo-org/app#102 by mallory',
            },
          ],
          agent: { secrecy: ['private:octo-org'], integrity: ['approved:octo-org', 'unapproved:octo-org'] },
          labels: EXAMPLE_ITEM_LABELS,
          operation: 'read',
          mode: 'filter',
          reason: 'filtered 1 of 3 parts the agent may not read',
          notice:
            "[Filtered] 1 item(s) in this response were removed by integrity policy and are not shown: issue octo-org/app#102 by mallory (read of 'issue octo-org/app#102 by mallory' denied: resource integrity lacks [approved:octo-org, unapproved:octo-org] (agent integrity must be a subset of resource integrity)).",
        },
      },
      propagate: {
        summary: 'propagate: everything is returned, the agent loses its integrity',
        value: {
          decision_id: '9d4b2f7e-1c3a-4e8b-b5d6-2a0f8c7e1b93',
          guard_digest: EXAMPLE_DIGEST,
          decision: 'allow',
          result: mcpText(EXAMPLE_ISSUES),
          filtered: [],
          agent: { secrecy: ['private:octo-org'], integrity: [] },
          labels: EXAMPLE_ITEM_LABELS,
          operation: 'read',
          mode: 'propagate',
          reason: "read of 'repo octo-org/app' allowed in propagate mode: agent integrity loses [approved:octo-org, unapproved:octo-org]",
        },
      },
    },
  },
);

export type AgentLabelBodyT = Static<typeof AgentLabelBody>;
export type EvaluateBodyT = Static<typeof EvaluateBody>;
export type EvaluateResponseBodyT = Static<typeof EvaluateResponseBody>;

export const decisionErrors = sessionErrors;

// The decision service's reply types are these schemas' (type-link.ts): a field on one side only fails to compile.
export type AgentLabelReplyIsAgentLabelled = Assert<Same<Static<typeof AgentLabelReply>, AgentLabelled>>;
export type EvaluateReplyIsEvaluated = Assert<Same<Static<typeof EvaluateReply>, Evaluated>>;
export type EvaluateResponseReplyIsEvaluatedResponse = Assert<Same<Static<typeof EvaluateResponseReply>, EvaluatedResponse>>;
export type FilteredItemIsDifcFilteredItem = Assert<Same<Static<typeof FilteredItem>, FilteredItemT>>;
export type ItemLabelsIsDifcItemLabels = Assert<Same<Static<typeof ItemLabels>, ItemLabelsT>>;
