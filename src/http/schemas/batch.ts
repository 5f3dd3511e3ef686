import { Type, type Static } from 'typebox';
import { ErrorBody } from './common.js';
import { EvaluateReply, evaluateFields } from './decisions.js';

/** Room for WASMGUARD_BATCH_MAX's own maximum; the configured limit is checked by the route (413). */
export const BATCH_SCHEMA_MAX = 10_000;

const EXAMPLE_POLICY = { 'allow-only': { repos: ['octo-org/*'], 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };

const CallId = Type.String({
  minLength: 1,
  maxLength: 256,
  description: "The caller's name for this call, echoed in its decision; default: its position in calls, as a string (\"0\", \"1\", ...)",
});

const { guard, session, agent, mode, policy } = evaluateFields;

export const BatchBody = Type.Object(
  {
    defaults: Type.Optional(
      Type.Object(
        { guard, session, agent, mode, policy },
        {
          additionalProperties: false,
          description: 'Fields every call gets unless it sets its own (a call\'s field replaces the default whole)',
        },
      ),
    ),
    calls: Type.Array(Type.Object({ id: Type.Optional(CallId), ...evaluateFields }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: BATCH_SCHEMA_MAX,
      description: 'Pre-call checks, each a /v1/evaluate body (with defaults applied); at most WASMGUARD_BATCH_MAX (default 100)',
    }),
  },
  {
    additionalProperties: false,
    'x-examples': {
      plan: {
        summary: 'A plan of three calls, one policy',
        value: {
          defaults: { guard: 'github', policy: EXAMPLE_POLICY },
          calls: [
            { id: 'issues', tool: 'list_issues', args: { owner: 'octo-org', repo: 'app' } },
            { id: 'file', tool: 'get_file_contents', args: { owner: 'octo-org', repo: 'app', path: 'README.md' } },
            { id: 'comment', tool: 'add_issue_comment', args: { owner: 'other-org', repo: 'secret', issue_number: 1, body: 'hi' } },
          ],
        },
      },
      session: {
        summary: 'A tool list filtered for a session (its labels are read once for the batch)',
        value: {
          defaults: { session: 'q3W9x1bK0fT7mZ2cYp4LsA' },
          calls: [{ tool: 'list_issues', args: { owner: 'octo-org', repo: 'app' } }, { tool: 'create_issue', args: { owner: 'octo-org', repo: 'app', title: 'x' } }],
        },
      },
    },
  },
);

const CallError = Type.Object(
  {
    id: CallId,
    error: ErrorBody.properties.error,
    decision: Type.Literal('deny', { description: 'Always deny: the call failed, so it must not be made' }),
  },
  { description: "A call that failed: its own error (the code and message /v1/evaluate would have answered), siblings unaffected" },
);

const CallDecision = Type.Object({ id: CallId, ...EvaluateReply.properties }, { description: 'A decision, exactly as /v1/evaluate answers it' });

export const BatchReply = Type.Object(
  {
    decisions: Type.Array(Type.Union([CallDecision, CallError]), { description: 'One entry per call, in the order of calls' }),
  },
  { description: 'The decisions, in the order of the calls' },
);

export type BatchBodyT = Static<typeof BatchBody>;
