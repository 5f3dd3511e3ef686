import { readString } from './memory-view.js';

/** What a backend caller hands back for one call_backend. */
export type BackendReply = { ok: true; json: string | Uint8Array } | { ok: false };

/**
 * The host side of env.call_backend. Synchronous because the guard is: inside
 * a worker the implementation blocks on Atomics.wait while the main thread
 * performs the real, asynchronous call.
 */
export interface BackendCaller {
  call(tool: string, argsJson: string): BackendReply;
}

/** A guard without a configured backend gets -1 from every call. */
export const noBackend: BackendCaller = { call: () => ({ ok: false }) };

export interface CallBackendOptions {
  backend: BackendCaller;
  maxCalls: number;
  memory: () => WebAssembly.Memory;
  onCall?: (outcome: 'ok' | 'error' | 'too_large' | 'limit') => void;
}

const encoder = new TextEncoder();

/**
 * env.call_backend: counts calls per invocation (the 51st gets -1), and keeps
 * a reply that did not fit so the guard's retry with a bigger buffer does not
 * repeat the backend call.
 */
export function createCallBackend(options: CallBackendOptions) {
  let calls = 0;
  let pending: { key: string; bytes: Uint8Array } | undefined;

  const callBackend = (toolPtr: number, toolLen: number, argsPtr: number, argsLen: number, resPtr: number, resCap: number): number => {
    try {
      if (++calls > options.maxCalls) {
        options.onCall?.('limit');
        return -1;
      }
      const memory = options.memory();
      const tool = readString(memory, toolPtr, toolLen);
      const args = readString(memory, argsPtr, argsLen);
      if (tool === undefined || args === undefined) return -1;
      const key = `${tool}\u0000${args}`;
      let bytes: Uint8Array;
      if (pending?.key === key) {
        bytes = pending.bytes;
        pending = undefined;
      } else {
        const reply = options.backend.call(tool, args);
        if (!reply.ok) {
          options.onCall?.('error');
          return -1;
        }
        bytes = typeof reply.json === 'string' ? encoder.encode(reply.json) : reply.json;
      }
      const cap = resCap >>> 0;
      const ptr = resPtr >>> 0;
      const view = memory.buffer;
      if (ptr + Math.min(cap, Math.max(bytes.length, 4)) > view.byteLength) return -1;
      if (bytes.length > cap) {
        pending = { key, bytes };
        if (cap >= 4) new DataView(view).setUint32(ptr, bytes.length, true);
        options.onCall?.('too_large');
        return -2;
      }
      new Uint8Array(view, ptr, bytes.length).set(bytes);
      options.onCall?.('ok');
      return bytes.length;
    } catch {
      return -1;
    }
  };
  return {
    callBackend,
    /** Called at the start of every guard invocation. */
    reset() {
      calls = 0;
      pending = undefined;
    },
  };
}
