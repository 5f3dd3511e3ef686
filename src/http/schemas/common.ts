import { Type } from 'typebox';

/** Building blocks shared by the route schemas. */

export const Tag = Type.String({ maxLength: 1024, description: 'An opaque label tag, e.g. "private:octo-org/app"' });
export const Tags = Type.Array(Tag, { maxItems: 4096 });

export const Labels = Type.Object(
  {
    secrecy: Type.Array(Tag, { maxItems: 4096, description: 'Who may know it; [] = public' }),
    integrity: Type.Array(Tag, { maxItems: 4096, description: 'How trustworthy it is; [] = untrusted' }),
  },
  { additionalProperties: false, description: 'DIFC labels' },
);

export const ResourceLabels = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    secrecy: Tags,
    integrity: Tags,
  },
  { additionalProperties: false, description: 'Labels of a resource, as the guard gave them' },
);

// Enums rather than unions of literals: validation errors then say "must be equal to one of the allowed values" once.
export const Mode = Type.Enum(['strict', 'filter', 'propagate'], {
  description: 'strict: violations deny; filter: violating items are removed from read results; propagate: reads allowed, agent labels move',
});

export const Operation = Type.Enum(['read', 'write', 'read-write']);

export const GuardName = Type.String({ minLength: 1, maxLength: 128, description: 'Name of a loaded guard (see GET /v1/guards)' });
export const ToolName = Type.String({ minLength: 1, maxLength: 512, description: 'Tool name as the gateway calls it' });

export const Policy = Type.Object({}, {
  additionalProperties: true,
  description: "The guard's policy object, e.g. {\"allow-only\": {\"repos\": \"public\", \"min-integrity\": \"none\"}}",
});

export const Decision = Type.Enum(['allow', 'deny']);

export const DecisionId = Type.String({ format: 'uuid', description: 'Unique id of this decision, also in the decision log' });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code, e.g. WG_ERR_GUARD_TIMEOUT' }),
      message: Type.String({ description: 'What is wrong, naming the field, limit or guard' }),
    }),
    decision: Type.Literal('deny', { description: 'Always deny: a gateway that reads only this field fails closed' }),
  },
  { description: 'Error' },
);

export const errorResponses = {
  400: { ...ErrorBody, description: 'Invalid body; the message names the field' },
  404: { ...ErrorBody, description: 'Unknown guard' },
  413: { ...ErrorBody, description: 'Body or guard input too large' },
  422: { ...ErrorBody, description: 'The guard rejected the policy' },
  502: { ...ErrorBody, description: 'Guard failure: error code, malformed output, trap' },
  503: { ...ErrorBody, description: 'Overloaded or shutting down; see Retry-After' },
  504: { ...ErrorBody, description: 'Guard deadline exceeded' },
};
