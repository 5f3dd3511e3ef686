// Guard ABI plumbing shared by the sample guards (see guards/README.md).
//
// Memory: the guards are built with AssemblyScript's minimal runtime (see
// build.mjs): a mark-and-sweep GC for their own objects that only runs when
// collectGarbage() is called: every few calls as label functions return (endCall()).
// Every buffer that crosses the ABI (the host's input and output buffers from
// alloc(), a spilled output, backend results) lives in raw heap.alloc memory,
// which the GC never scans, moves or frees, so it survives any collection
// until dealloc()/heap.free.

import { JsonDoc, JsonWriter, forgetLongValues } from "./json";

// @ts-ignore: decorator
@external("env", "host_log")
declare function host_log(level: i32, ptr: usize, len: i32): void;

// @ts-ignore: decorator
@external("env", "call_backend")
declare function call_backend(
  toolPtr: usize,
  toolLen: i32,
  argsPtr: usize,
  argsLen: i32,
  resPtr: usize,
  resCap: i32,
): i32;

/** Return codes besides "bytes written" and -2 (documented in guards/README.md). */
export const ERR_INVALID_JSON: i32 = -1;
export const ERR_INVALID_INPUT: i32 = -3;

export const LOG_DEBUG: i32 = 0;
export const LOG_INFO: i32 = 1;
export const LOG_WARN: i32 = 2;
export const LOG_ERROR: i32 = 3;

// ------------------------------------------------------------------ abort

let aborting = false;

function putAscii(buf: usize, n: i32, s: string, limit: i32): i32 {
  for (let i = 0; i < s.length && n < limit; i++) {
    const c = s.charCodeAt(i);
    store<u8>(buf + <usize>n, <u8>(c >= 0x20 && c < 0x7f ? c : 0x3f));
    n++;
  }
  return n;
}

function putUint(buf: usize, n: i32, v: u32, limit: i32): i32 {
  const tmp = memory.data(12);
  let k = 0;
  do {
    store<u8>(tmp + <usize>k, <u8>(0x30 + (v % 10)));
    v /= 10;
    k++;
  } while (v != 0);
  while (k > 0 && n < limit) {
    k--;
    store<u8>(buf + <usize>n, load<u8>(tmp + <usize>k));
    n++;
  }
  return n;
}

/**
 * Replaces AssemblyScript's env.abort import (build.mjs passes
 * `--use abort=guards/lib/abi/guardAbort`): logs the message at error level
 * through env.host_log without allocating (it may run because memory ran out),
 * then traps with `unreachable`.
 */
export function guardAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  if (!aborting) {
    aborting = true;
    const limit = 480;
    const buf = memory.data(512);
    let n = putAscii(buf, 0, "guard abort: ", limit);
    n = putAscii(buf, n, message != null ? message : "(no message)", limit);
    if (fileName != null) {
      n = putAscii(buf, n, " at ", limit);
      n = putAscii(buf, n, fileName, limit);
      n = putAscii(buf, n, ":", limit);
      n = putUint(buf, n, line, limit);
      n = putAscii(buf, n, ":", limit);
      n = putUint(buf, n, column, limit);
    }
    host_log(LOG_ERROR, buf, n);
  }
  unreachable();
}

export function log(level: i32, message: string): void {
  const bytes = String.UTF8.encode(message);
  host_log(level, changetype<usize>(bytes), bytes.byteLength);
}

export function logDebug(message: string): void {
  log(LOG_DEBUG, message);
}

export function logInfo(message: string): void {
  log(LOG_INFO, message);
}

export function logWarn(message: string): void {
  log(LOG_WARN, message);
}

export function logError(message: string): void {
  log(LOG_ERROR, message);
}

// ------------------------------------------------------------------ buffers

// The host allocates an input and an output buffer (4 MiB by default) for
// every call. Large buffers are kept in two slots and handed out again
// instead of going back to the allocator, so they land in the same place
// every call: a small long-lived object (say, a new policy) can never be
// placed inside a freed 4 MiB block and force memory to grow around it.
const BIG: i32 = 64 << 10;
const bigPtr = new StaticArray<usize>(2);
const bigCap = new StaticArray<i32>(2);
const bigUsed = new StaticArray<bool>(2);

/** ABI export: a buffer of `size` bytes for the host (never moved or collected). */
export function alloc(size: i32): i32 {
  const n: i32 = size > 0 ? size : 1;
  if (n < BIG) return <i32>heap.alloc(<usize>n);
  // a free slot big enough, else the free slot to replace, else none
  let pick = -1;
  for (let i = 0; i < 2; i++) {
    if (bigUsed[i]) continue;
    if (bigCap[i] >= n) {
      pick = i;
      break;
    }
    if (pick < 0) pick = i;
  }
  if (pick < 0) return <i32>heap.alloc(<usize>n);
  if (bigCap[pick] < n) {
    if (bigPtr[pick] != 0) heap.free(bigPtr[pick]);
    bigPtr[pick] = 0; // in case the allocation below traps
    bigCap[pick] = 0;
    bigPtr[pick] = heap.alloc(<usize>n);
    bigCap[pick] = n;
  }
  bigUsed[pick] = true;
  return <i32>bigPtr[pick];
}

/** ABI export: frees a buffer returned by alloc(). */
export function dealloc(ptr: i32, size: i32): void {
  if (ptr == 0) return;
  for (let i = 0; i < 2; i++) {
    if (bigPtr[i] == <usize>ptr) {
      bigUsed[i] = false; // a slot buffer is never handed back to the allocator
      return;
    }
  }
  heap.free(<usize>ptr);
}

/**
 * Frees garbage now. The guards are built with AssemblyScript's minimal
 * runtime, which never collects on its own; module globals (the policy state,
 * a call parked mid-way) are the roots and survive.
 */
export function collectGarbage(): void {
  __collect();
}

const COLLECT_AFTER_CALLS = 8;
const COLLECT_AFTER_INPUT_BYTES = 256 * 1024;
let callsSinceCollect = 0;
let inputBytesSinceCollect = 0;

/**
 * Ends a label call and passes its return code through; each label function
 * ends with `return endCall(rc, inLen)`, when no managed object of the call
 * is used any more. It collects every 8
 * calls, or at once when the inputs since the last collection reach 256 KiB:
 * a collection costs a third of a small call (2 of 6 µs for the github
 * guard's label_resource), while a call's garbage grows with its input, so
 * what waits for the next collection stays small.
 */
export function endCall(rc: i32, inputBytes: i32): i32 {
  inputBytesSinceCollect += inputBytes;
  if (++callsSinceCollect < COLLECT_AFTER_CALLS && inputBytesSinceCollect < COLLECT_AFTER_INPUT_BYTES) return rc;
  callsSinceCollect = 0;
  inputBytesSinceCollect = 0;
  __collect();
  return rc;
}

// ------------------------------------------------------------------ input / output

/** The call's JSON input as a validated document over the host's buffer, or null (logged). */
export function inputDoc(fn: string, ptr: i32, len: i32): JsonDoc | null {
  if (len <= 0) {
    logError(fn + ": empty input");
    return null;
  }
  // The host's input buffer is reused from call to call: what the last call's bytes said about it is void.
  forgetLongValues();
  const doc = new JsonDoc(<usize>ptr, len);
  if (!doc.validate()) {
    logError(fn + ": input is not valid JSON (" + len.toString() + " bytes)");
    return null;
  }
  return doc;
}

const out = new JsonWriter(0);

/**
 * The call's output writer, writing straight into the host's output buffer:
 * when the output fits (the usual case) emit() has nothing to copy. Text
 * that outgrows the buffer moves to a heap buffer, so emit() can tell the
 * host the exact size it needs.
 */
export function output(outPtr: i32, outCap: i32): JsonWriter {
  out.target(<usize>outPtr, outCap > 0 ? outCap : 0);
  return out;
}

/**
 * Finishes the call's output: returns its length when it is in the host's
 * buffer; otherwise writes the size needed as u32 LE at out_ptr (if out_cap
 * >= 4) and returns -2 so the host can retry with a bigger buffer.
 */
export function emit(fn: string, w: JsonWriter, outPtr: i32, outCap: i32): i32 {
  const n = w.len;
  const fits = w.inTarget();
  w.free(); // releases a spilled heap buffer; never the host's
  if (fits) return n;
  if (outCap >= 4) store<u32>(<usize>outPtr, <u32>n);
  logDebug(fn + ": output needs " + n.toString() + " bytes, buffer has " + outCap.toString());
  return -2;
}

// ------------------------------------------------------------------ backend

/** Largest backend result the guards accept. */
const BACKEND_MAX_BYTES: i32 = 4 << 20;
const BACKEND_FIRST_BYTES: i32 = 16 << 10;

/**
 * Calls a read-only backend tool through env.call_backend. Implements the -2
 * protocol on the guard side: when the host says the result does not fit, the
 * buffer grows to the size the host wrote at res_ptr (or doubles when there is
 * no hint) and the call is repeated, at most 3 times and up to 4 MiB. Returns
 * an owned, validated document (call free() on it), or null on any failure.
 */
export function callBackend(tool: string, argsJson: string): JsonDoc | null {
  const t = String.UTF8.encode(tool);
  const a = String.UTF8.encode(argsJson);
  let cap = BACKEND_FIRST_BYTES;
  let buf = heap.alloc(<usize>cap);
  for (let attempt = 0; attempt < 4; attempt++) {
    const n = call_backend(changetype<usize>(t), t.byteLength, changetype<usize>(a), a.byteLength, buf, cap);
    if (n >= 0) {
      if (n > cap) break;
      const doc = new JsonDoc(buf, n);
      doc.owned = true;
      if (n == 0 || !doc.validate()) {
        logWarn("call_backend " + tool + ": result is not JSON");
        doc.free();
        return null;
      }
      return doc;
    }
    if (n != -2) {
      logWarn("call_backend " + tool + " failed (" + n.toString() + ")");
      break;
    }
    let need = <i32>load<u32>(buf);
    if (need <= cap) need = cap * 2;
    if (need > BACKEND_MAX_BYTES || attempt == 3) {
      logWarn("call_backend " + tool + ": result larger than " + BACKEND_MAX_BYTES.toString() + " bytes");
      break;
    }
    buf = heap.realloc(buf, <usize>need);
    cap = need;
  }
  heap.free(buf);
  return null;
}
