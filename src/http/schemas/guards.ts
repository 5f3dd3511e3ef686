import { Type } from 'typebox';
import { Mode } from './common.js';

/** GET /v1/guards: what GuardHandle.describe() returns. Open objects, so fields added later are still served. */

const Count = Type.Integer({ minimum: 0 });
const Counts = Type.Record(Type.String(), Count);

const PoolState = Type.Object(
  {
    size: Type.Integer({ minimum: 1, description: 'Instances (one worker thread each)' }),
    healthy: Type.Boolean({ description: 'false when the guard has no live instance and keeps failing to start one' }),
    instances: Type.Object(
      { starting: Count, idle: Count, busy: Count, poisoned: Count },
      { additionalProperties: true, description: 'Instances by state' },
    ),
    queueLength: Type.Integer({ minimum: 0, description: 'Calls waiting for an instance to start them: queued, or behind other calls in a batch' }),
    consecutiveFailures: Type.Integer({ minimum: 0 }),
    evictions: { ...Counts, description: 'Instances evicted, by reason (trap, exit, deadline, crash, start_failed)' },
    replacements: { ...Counts, description: 'Instances started to replace evicted ones, by reason' },
    traps: { ...Counts, description: 'Traps by kind (unreachable, out_of_bounds, stack_overflow, deadline, memory, ...)' },
    regrowths: Type.Record(Type.String(), Type.Object({ hinted: Count, doubled: Count }), {
      description: 'Output buffer regrowths by function, after the guard returned -2',
    }),
  },
  { additionalProperties: true, description: 'Live pool state' },
);

export const GuardInfo = Type.Object(
  {
    name: Type.String({ description: 'The name requests use in `guard`' }),
    digest: Type.String({ description: 'SHA-256 (hex) of the .wasm file' }),
    version: Type.Integer({ minimum: 1, description: 'Loaded version of this guard: 1 at start, one more each time a reload replaced it' }),
    loaded_at: Type.String({ format: 'date-time', description: 'When this version was loaded (start or reload)' }),
    size_bytes: Type.Integer({ minimum: 0 }),
    exports: Type.Array(Type.String(), { description: 'Exported names of the module' }),
    imports: Type.Object(
      {
        wasi: Type.Boolean({ description: 'Imports wasi_snapshot_preview1' }),
        call_backend: Type.Boolean({ description: 'Imports env.call_backend' }),
        host_log: Type.Boolean({ description: 'Imports env.host_log' }),
      },
      { additionalProperties: true },
    ),
    alloc_dealloc: Type.Boolean({ description: 'Exports alloc and dealloc, so the host allocates buffers through them' }),
    default_policy: Type.Unknown({ description: 'The configured policy used when a request has none (null: none)' }),
    mode: Type.Union([Mode, Type.Null()], { description: 'The configured mode (null: label_agent decides, then the server default)' }),
    backend: Type.Union([Type.String(), Type.Null()], { description: 'The backend call_backend reaches (null: every call gets -1)' }),
    limits: Type.Object(
      {
        timeout_ms: Type.Integer({ description: 'Deadline of one guard call' }),
        memory_limit_bytes: Type.Integer({ description: 'Linear memory cap per instance' }),
        max_input_bytes: Type.Integer({ description: 'Largest JSON input to a guard call (413 above it)' }),
        initial_output_bytes: Type.Integer({ description: 'Size of the first output buffer of a call (a guard asks for more with -2)' }),
        max_output_bytes: Type.Integer({ description: 'Largest output buffer (502 above it)' }),
        max_backend_calls: Type.Integer({ description: 'call_backend calls allowed per guard call' }),
      },
      { additionalProperties: true },
    ),
    pool: PoolState,
  },
  { additionalProperties: true },
);

export const GuardList = Type.Object(
  { guards: Type.Array(GuardInfo) },
  {
    description: 'The loaded guards, in configuration order',
    examples: [
      {
        guards: [
          {
            name: 'github',
            digest: '3aba8060d8dbd0939f98f1fce6d78b84263d3d35f498247a94fa08112b15a94e',
            version: 1,
            loaded_at: '2026-12-02T15:30:00.000Z',
            size_bytes: 44188,
            exports: ['label_agent', 'label_resource', 'label_response', 'alloc', 'dealloc', 'memory'],
            imports: { wasi: false, call_backend: true, host_log: true },
            alloc_dealloc: true,
            default_policy: null,
            mode: null,
            backend: null,
            limits: {
              timeout_ms: 1000,
              memory_limit_bytes: 33554432,
              max_input_bytes: 8388608,
              initial_output_bytes: 4194304,
              max_output_bytes: 16777216,
              max_backend_calls: 50,
            },
            pool: {
              size: 2,
              healthy: true,
              instances: { starting: 0, idle: 2, busy: 0, poisoned: 0 },
              queueLength: 0,
              consecutiveFailures: 0,
              evictions: {},
              replacements: {},
              traps: {},
              regrowths: {},
            },
          },
        ],
      },
    ],
  },
);
