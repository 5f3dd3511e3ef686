// __NAME__: a WasmGuard guard, started from the template of `wasmguard init`.
// Built by `npm run build:guards -- __NAME__` into guards/__NAME__.wasm; its
// cases are in __NAME__.cases.yaml (`npx wasmguard test guards/__NAME__`).
//
// What it does, so there is something to change:
//   policy    {"secret-tools": ["read_vault", ...]}   (optional; {} is valid)
//   agent     starts with no labels: it may read public data and write anywhere
//   resource  tools named get_*, list_*, search_*, read_* are reads, all others
//             writes; a tool in "secret-tools" is secret ("secret:__NAME__"),
//             so an agent without that tag may not read it
//   response  no per-item labels (returns 0): the whole result carries the
//             resource labels. See guards/static for a guard that labels items.
//
// The ABI (docs/contract.md §2, guards/README.md): each label function gets
// JSON at in_ptr and writes JSON at out_ptr; lib/abi.ts does the buffers.

import { JsonDoc } from "../../lib/json";
import { ERR_INVALID_INPUT, ERR_INVALID_JSON, emit, endCall, inputDoc, logWarn, output } from "../../lib/abi";

// The host allocates the input and output buffers through these.
export { alloc, dealloc } from "../../lib/abi";

const SECRET_TAG = "secret:__NAME__";

// Instance state: label_agent sets it, the other functions read it.
let secretTools: Array<string> = [];

/** The policy's secret tools, or an error message for the host to return to the caller. */
function parsePolicy(doc: JsonDoc, tools: Array<string>): string | null {
  const root = doc.root();
  if (!doc.isObject(root)) return "policy must be a JSON object";
  const members = doc.members(root);
  for (let i = 0; i < members.length; i += 2) {
    const key = doc.strOr(members[i], "");
    if (key != "secret-tools") return "unknown field " + key + " (expected secret-tools)";
  }
  const list = doc.field(root, "secret-tools");
  if (list < 0) return null;
  if (!doc.allStrings(list)) return "secret-tools must be an array of tool names";
  const names = doc.strings(list)!;
  for (let i = 0; i < names.length; i++) if (!tools.includes(names[i])) tools.push(names[i]);
  tools.sort();
  return null;
}

export function label_agent(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelAgent(inPtr, inLen, outPtr, outCap), inLen);
}

function labelAgent(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const doc = inputDoc("label_agent", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  const tools = new Array<string>();
  const error = parsePolicy(doc, tools);
  const w = output(outPtr, outCap);
  if (error != null) {
    // A refusal is an ordinary answer; the previous policy stays in force.
    logWarn("label_agent: policy rejected: " + error);
    w.raw('{"success":false,"error":').str(error).raw("}");
    return emit("label_agent", w, outPtr, outCap);
  }
  secretTools = tools;
  w.raw('{"agent":{"secrecy":[],"integrity":[]},"normalized_policy":{"secret-tools":').strArray(tools).raw("}}");
  return emit("label_agent", w, outPtr, outCap);
}

function isRead(tool: string): bool {
  return tool.startsWith("get_") || tool.startsWith("list_") || tool.startsWith("search_") || tool.startsWith("read_");
}

export function label_resource(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelResource(inPtr, inLen, outPtr, outCap), inLen);
}

function labelResource(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  // Input: {"tool_name": "...", "tool_args": {...}}
  const doc = inputDoc("label_resource", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  const tool = doc.str(doc.field(doc.root(), "tool_name"));
  if (tool == null) return ERR_INVALID_INPUT;
  const w = output(outPtr, outCap);
  w.raw('{"resource":{"description":').str("tool " + tool);
  w.raw(',"secrecy":').strArray(secretTools.includes(tool) ? [SECRET_TAG] : []);
  w.raw(',"integrity":[]},"operation":').str(isRead(tool) ? "read" : "write").raw("}");
  return emit("label_resource", w, outPtr, outCap);
}

export function label_response(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  // 0: no fine-grained labels; the result takes the labels of label_resource.
  return endCall(0, inLen);
}
