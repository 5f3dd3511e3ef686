import { Type } from 'typebox';
import { ErrorBody, GuardDigest } from './common.js';

const GuardReload = Type.Object(
  {
    guard: Type.String({ description: 'Guard name' }),
    result: Type.Enum(['added', 'updated', 'unchanged', 'removed', 'failed'], {
      description:
        'added: new guard now serving; updated: new version now serving, the old one drains; unchanged: same digest and settings, ' +
        'not touched; removed: no longer configured, answers 404 (requests already running finish); failed: the previous version keeps serving',
    }),
    digest: Type.Optional({ ...GuardDigest, description: 'SHA-256 of the version serving after the reload' }),
    previous_digest: Type.Optional({ ...GuardDigest, description: 'SHA-256 of the version that served before' }),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'Version serving after the reload (as in GET /v1/guards)' })),
    reason: Type.Optional(Type.String({ description: 'Why the guard failed to reload: read, compile, validation, digest pin or pool start error' })),
  },
  { additionalProperties: false },
);

export const ReloadReply = Type.Object(
  {
    trigger: Type.String({ description: 'What started the reload: api, signal or watch' }),
    guards: Type.Array(GuardReload, { description: 'Every guard configured before or after the reload, in configuration order, removed ones last' }),
  },
  {
    description: 'What the reload changed, per guard',
    examples: [
      {
        trigger: 'api',
        guards: [
          {
            guard: 'github',
            result: 'updated',
            digest: '5d41402abc4b2a76b9719d911017c592ae1b0e6f3e1d2b3c4d5e6f708192a3b4',
            previous_digest: '3aba8060d8dbd0939f98f1fce6d78b84263d3d35f498247a94fa08112b15a94e',
            version: 2,
          },
          { guard: 'static', result: 'unchanged', digest: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', version: 1 },
          {
            guard: 'pinned',
            result: 'failed',
            digest: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
            previous_digest: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
            version: 1,
            reason:
              'guard pinned: module SHA-256 is fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9, but the configuration requires 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
          },
        ],
      },
    ],
  },
);

export const reloadErrors = {
  422: {
    ...ErrorBody,
    description: 'The configuration cannot be read again (the message names the problem); nothing was changed. Codes: WG_ERR_RELOAD_CONFIG.',
    'x-examples': {
      config: {
        summary: 'WG_ERR_RELOAD_CONFIG',
        value: {
          error: { code: 'WG_ERR_RELOAD_CONFIG', message: 'reload: invalid configuration:\n  - guards.github.path: /etc/guards/github.wasm does not exist' },
          decision: 'deny',
        },
      },
    },
  },
};
