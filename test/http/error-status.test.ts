/**
 * Every error the service can raise has an HTTP status: the classes are found
 * by reading src/ (any class that extends WasmGuardError, however deep), each
 * needs a sample below, and every sample's code, like every code in
 * ERROR_CODES, must be in the code → status table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, WasmGuardError } from '../../src/errors.js';
import { ERROR_STATUS } from '../../src/http/error-status.js';
import { BatchTooLargeError, toHttpError } from '../../src/http/errors.js';
import { ContentEncodingError, JsonBodyError, JsonDepthError } from '../../src/http/json-body.js';
import * as guard from '../../src/guard/errors.js';
import { WasmFormatError } from '../../src/guard/wasm-binary.js';
import { ConfigError } from '../../src/config/errors.js';
import { DifcError, JsonPointerError, LabelError, ResponseLabelError } from '../../src/difc/errors.js';
import { UnknownGuardError } from '../../src/decision/errors.js';
import * as session from '../../src/session/errors.js';
import { BackendCallError, ResponseTooLargeError } from '../../src/backend/backend.js';
import { AuthzenMappingError } from '../../src/authzen/mapping.js';
import { ReloadConfigError } from '../../src/runtime/reload.js';

const fn = 'label_resource' as const;

/** One instance of every concrete error class. */
const SAMPLES: WasmGuardError[] = [
  new guard.GuardError('failed'),
  new guard.GuardLoadError('no memory export'),
  new guard.CompilationCacheClosedError(),
  new guard.GuardReportedError(-1, { fn }),
  new guard.GuardPolicyRejectedError('refused'),
  new guard.GuardOutputError('not JSON'),
  new guard.GuardBufferLimitError('too big'),
  new guard.GuardInputTooLargeError(10, 5, { fn }),
  new guard.GuardTrapError('unreachable', 'unreachable'),
  new guard.GuardExitError('exit 0'),
  new guard.GuardTimeoutError('deadline'),
  new guard.GuardPoisonedError({ name: 'GuardTrapError', code: 'WG_ERR_GUARD_TRAP', message: 'trap' }),
  new guard.GuardOverloadedError('queue full', 2),
  new guard.GuardPoolClosedError('closed'),
  new guard.GuardUnavailableError('keeps failing'),
  new WasmFormatError('not wasm'),
  new ConfigError(['port: not a number']),
  new DifcError('difc'),
  new LabelError('tag 7 is not a string'),
  new JsonPointerError('bad pointer', '/x', 'syntax'),
  new ResponseLabelError('no such path', '/x', 'items_path', 'missing'),
  new UnknownGuardError('nope', ['github']),
  new session.SessionError('WG_ERR_INVALID_REQUEST', 'bad'),
  new session.UnknownSessionError('abcdefghijkl'),
  new session.SessionStoreUnavailableError('connection refused'),
  new session.SessionConflictError(['agent']),
  new session.PolicyLockedError('github', 'policy'),
  new BackendCallError('error', 'HTTP 500'),
  new ResponseTooLargeError(10, 20),
  new BatchTooLargeError('too many'),
  new JsonDepthError(64),
  new JsonBodyError('not JSON'),
  new ContentEncodingError('gzip'),
  new AuthzenMappingError('subject.type is required'),
  new ReloadConfigError('reload: guards[0].path: no such file'),
];

/** Names of the classes under WasmGuardError, read from the source, not from what this file imports. */
function errorClassesInSource(): string[] {
  const parents = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/class\s+(\w+)\s+extends\s+(\w+)/g)) parents.set(m[1]!, m[2]!);
      }
    }
  };
  walk(join(import.meta.dirname, '../../src'));
  const isUnderBase = (name: string): boolean => {
    const parent = parents.get(name);
    return parent === 'WasmGuardError' || (parent !== undefined && isUnderBase(parent));
  };
  return [...parents.keys()].filter(isUnderBase).sort();
}

describe('error codes and statuses', () => {
  it('has a sample of every error class in src/', () => {
    const sampled = [...new Set(SAMPLES.map((e) => e.constructor.name))].sort();
    expect(sampled).toEqual(errorClassesInSource());
  });

  it('gives every code a status', () => {
    for (const code of ERROR_CODES) expect(ERROR_STATUS[code], code).toBeDefined();
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('gives every error class a code of the list, and a reply with the status of its code', () => {
    for (const error of SAMPLES) {
      expect(error).toBeInstanceOf(Error);
      expect(ERROR_CODES, error.name).toContain(error.code);
      expect(error.name).toBe(error.constructor.name);
      const reply = toHttpError(error, 1024);
      const { status } = ERROR_STATUS[error.code];
      expect(reply.status, error.name).toBe(status);
      if (status === 500) expect(reply).toMatchObject({ code: 'WG_ERR_INTERNAL', message: 'internal error; the decision is deny' });
      else expect(reply).toMatchObject({ code: error.code, message: error.message });
      if (status === 503) expect(reply.retryAfterSeconds, error.name).toBeGreaterThan(0);
    }
  });

  it('sends the Retry-After an overloaded guard asks for', () => {
    expect(toHttpError(new guard.GuardOverloadedError('queue full', 7), 1024).retryAfterSeconds).toBe(7);
    expect(toHttpError(new guard.GuardUnavailableError('keeps failing'), 1024).retryAfterSeconds).toBe(5);
  });

  it('keeps the status of an error rebuilt after a worker boundary', () => {
    const rebuilt = guard.guardErrorFromData(new guard.GuardTimeoutError('deadline', { fn }).toData());
    expect(toHttpError(rebuilt, 1024)).toMatchObject({ status: 504, code: 'WG_ERR_GUARD_TIMEOUT' });
  });
});
