// "static" sample guard: labels come from the policy (and, for responses, from
// the items themselves). No GitHub knowledge, no backend: a tiny, fast guard
// for tests, benchmarks and demos of the DIFC modes. See guards/README.md.
//
// Policy (every field optional; {} is a valid policy):
//   {
//     "agent":   {"secrecy": [...], "integrity": [...]},
//     "mode":    "strict" | "filter" | "propagate",
//     "tools":   {"<tool>": {"operation": "read" | "write" | "read-write",
//                            "secrecy": [...], "integrity": [...], "description": "..."}},
//     "default": {"operation": ..., "secrecy": [...], "integrity": [...]}
//   }
// Without a policy (or a tool without a rule and no "default"): every tool is
// a read of a public, untrusted resource (empty labels).

import { JsonDoc, JsonWriter, KeySet } from "../../lib/json";
import { ERR_INVALID_INPUT, ERR_INVALID_JSON, emit, inputDoc, logWarn, output } from "../../lib/abi";

export { alloc, dealloc } from "../../lib/abi";
import { endCall } from "../../lib/abi";

class Rule {
  operation: string = "read";
  secrecy: Array<string> = [];
  integrity: Array<string> = [];
  description: string | null = null;
}

class Policy {
  agentSecrecy: Array<string> = [];
  agentIntegrity: Array<string> = [];
  mode: string | null = null;
  names: Array<string> = [];
  rules: Array<Rule> = [];
  fallback: Rule = new Rule();
  error: string | null = null;
}

// Instance state, replaced as a whole by a successful label_agent.
let policy = new Policy();

function fail(p: Policy, message: string): Policy {
  p.error = message;
  return p;
}

function isOperation(s: string): bool {
  return s == "read" || s == "write" || s == "read-write";
}

/** Sorted, de-duplicated tags of a string array, or null when `pos` is not one. */
function tagSet(doc: JsonDoc, pos: i32): Array<string> | null {
  if (!doc.allStrings(pos)) return null;
  const s = new Set<string>();
  const all = doc.strings(pos)!;
  for (let i = 0; i < all.length; i++) s.add(all[i]);
  const out = s.values();
  out.sort();
  return out;
}

function onlyKeys(doc: JsonDoc, obj: i32, allowed: string[], where: string): string | null {
  const m = doc.members(obj);
  for (let i = 0; i < m.length; i += 2) {
    const k = doc.strOr(m[i], "");
    if (!allowed.includes(k)) return "unknown field " + where + k + " (expected " + allowed.join(", ") + ")";
  }
  return null;
}

const LABEL_KEYS: string[] = ["secrecy", "integrity"];
const RULE_KEYS: string[] = ["operation", "secrecy", "integrity", "description"];
const POLICY_KEYS: string[] = ["agent", "mode", "tools", "default"];

/** Parses a rule object into `r`; returns an error message or null. */
function parseRule(doc: JsonDoc, pos: i32, where: string, r: Rule): string | null {
  if (!doc.isObject(pos)) return where + " must be an object";
  const unknown = onlyKeys(doc, pos, RULE_KEYS, where + ".");
  if (unknown != null) return unknown;
  const op = doc.field(pos, "operation");
  if (op >= 0) {
    const s = doc.str(op);
    if (s == null || !isOperation(s)) return where + '.operation must be "read", "write" or "read-write"';
    r.operation = s;
  }
  const sec = doc.field(pos, "secrecy");
  if (sec >= 0) {
    const t = tagSet(doc, sec);
    if (t == null) return where + ".secrecy must be an array of strings";
    r.secrecy = t;
  }
  const integ = doc.field(pos, "integrity");
  if (integ >= 0) {
    const t = tagSet(doc, integ);
    if (t == null) return where + ".integrity must be an array of strings";
    r.integrity = t;
  }
  const d = doc.field(pos, "description");
  if (d >= 0) {
    const s = doc.str(d);
    if (s == null) return where + ".description must be a string";
    r.description = s;
  }
  return null;
}

function parsePolicy(doc: JsonDoc, root: i32): Policy {
  const p = new Policy();
  if (!doc.isObject(root)) return fail(p, "policy must be a JSON object");
  const unknown = onlyKeys(doc, root, POLICY_KEYS, "");
  if (unknown != null) return fail(p, unknown);

  const agent = doc.field(root, "agent");
  if (agent >= 0) {
    if (!doc.isObject(agent)) return fail(p, "agent must be an object with secrecy and integrity");
    const u = onlyKeys(doc, agent, LABEL_KEYS, "agent.");
    if (u != null) return fail(p, u);
    const sec = doc.field(agent, "secrecy");
    if (sec >= 0) {
      const t = tagSet(doc, sec);
      if (t == null) return fail(p, "agent.secrecy must be an array of strings");
      p.agentSecrecy = t;
    }
    const integ = doc.field(agent, "integrity");
    if (integ >= 0) {
      const t = tagSet(doc, integ);
      if (t == null) return fail(p, "agent.integrity must be an array of strings");
      p.agentIntegrity = t;
    }
  }

  const mode = doc.field(root, "mode");
  if (mode >= 0) {
    const m = doc.str(mode);
    if (m == null || (m != "strict" && m != "filter" && m != "propagate")) {
      return fail(p, 'mode must be "strict", "filter" or "propagate"');
    }
    p.mode = m;
  }

  const tools = doc.field(root, "tools");
  if (tools >= 0) {
    if (!doc.isObject(tools)) return fail(p, "tools must be an object of tool name -> rule");
    const m = doc.members(tools);
    // last duplicate wins, as in JSON.parse; names kept sorted for normalized_policy
    const byName = new Map<string, Rule>();
    for (let i = 0; i < m.length; i += 2) {
      const name = doc.strOr(m[i], "");
      const r = new Rule();
      const err = parseRule(doc, m[i + 1], "tools." + name, r);
      if (err != null) return fail(p, err);
      byName.set(name, r);
    }
    p.names = byName.keys();
    p.names.sort();
    for (let i = 0; i < p.names.length; i++) p.rules.push(byName.get(p.names[i]));
  }

  const def = doc.field(root, "default");
  if (def >= 0) {
    const err = parseRule(doc, def, "default", p.fallback);
    if (err != null) return fail(p, err);
  }
  return p;
}

function ruleFor(tool: string): Rule {
  const i = policy.names.indexOf(tool);
  return i >= 0 ? policy.rules[i] : policy.fallback;
}

function writeRule(w: JsonWriter, r: Rule, withOperation: bool): void {
  if (withOperation) w.raw('{"operation":').str(r.operation).raw(",");
  else w.raw("{");
  w.raw('"secrecy":').strArray(r.secrecy);
  w.raw(',"integrity":').strArray(r.integrity);
  const d = r.description;
  if (d != null) w.raw(',"description":').str(d);
  w.raw("}");
}

function writeLabels(w: JsonWriter, description: string, secrecy: Array<string>, integrity: Array<string>): void {
  w.raw('{"description":').str(description);
  w.raw(',"secrecy":').strArray(secrecy);
  w.raw(',"integrity":').strArray(integrity);
  w.raw("}");
}

function describe(r: Rule, tool: string): string {
  const d = r.description;
  return d != null ? d : "tool " + tool;
}

export function label_agent(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelAgent(inPtr, inLen, outPtr, outCap), inLen);
}

function labelAgent(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const doc = inputDoc("label_agent", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  const p = parsePolicy(doc, doc.root());
  const w = output(outPtr, outCap);
  const err = p.error;
  if (err != null) {
    logWarn("label_agent: policy rejected: " + err);
    w.raw('{"success":false,"error":').str(err).raw("}");
    return emit("label_agent", w, outPtr, outCap);
  }
  policy = p;
  w.raw('{"agent":{"secrecy":').strArray(p.agentSecrecy);
  w.raw(',"integrity":').strArray(p.agentIntegrity).raw("}");
  const mode = p.mode;
  if (mode != null) w.raw(',"difc_mode":').str(mode);
  w.raw(',"normalized_policy":{"agent":{"secrecy":').strArray(p.agentSecrecy);
  w.raw(',"integrity":').strArray(p.agentIntegrity).raw("}");
  if (mode != null) w.raw(',"mode":').str(mode);
  w.raw(',"tools":{');
  for (let i = 0; i < p.names.length; i++) {
    if (i > 0) w.byte(0x2c);
    w.str(p.names[i]).byte(0x3a);
    writeRule(w, p.rules[i], true);
  }
  w.raw('},"default":');
  writeRule(w, p.fallback, true);
  w.raw("}}");
  return emit("label_agent", w, outPtr, outCap);
}

export function label_resource(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelResource(inPtr, inLen, outPtr, outCap), inLen);
}

function labelResource(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const doc = inputDoc("label_resource", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  const tool = doc.str(doc.field(doc.root(), "tool_name"));
  if (tool == null) return ERR_INVALID_INPUT;
  const r = ruleFor(tool);
  const w = output(outPtr, outCap);
  w.raw('{"resource":');
  writeLabels(w, describe(r, tool), r.secrecy, r.integrity);
  w.raw(',"operation":').str(r.operation).raw("}");
  return emit("label_resource", w, outPtr, outCap);
}

const RESPONSE_KEYS = new KeySet(["tool_name", "tool_result"]);

/** Writes `key` and the array of strings at `pos` verbatim, or [] when it is not one. */
function writeTags(w: JsonWriter, doc: JsonDoc, pos: i32, key: string): void {
  w.raw(key);
  if (doc.allStrings(pos)) w.rawValue(doc, pos, false);
  else w.raw("[]");
}

/**
 * Items of the result (a root array, or an "items" array; MCP text content is
 * unwrapped first) that carry "_labels": {"secrecy": [...], "integrity": [...]}
 * get exactly those labels; the others get the tool's rule as default_labels.
 * Returns 0 (no fine-grained labels) when no item carries "_labels".
 */
export function label_response(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelResponse(inPtr, inLen, outPtr, outCap), inLen);
}

function labelResponse(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const doc = inputDoc("label_response", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  const root = new Array<i32>(2);
  doc.fields(doc.root(), RESPONSE_KEYS, root);
  const tool = doc.str(root[0]);
  if (tool == null) return ERR_INVALID_INPUT;

  let rdoc = doc;
  let result = root[1];
  let inner: JsonDoc | null = null;
  const content = doc.field(result, "content");
  if (doc.isArray(content)) {
    const blocks = doc.items(content);
    if (blocks.length > 0 && doc.keyEquals(doc.field(blocks[0], "type"), "text")) {
      inner = doc.stringAsDoc(doc.field(blocks[0], "text"));
      if (inner != null && inner.validate()) {
        rdoc = inner;
        result = inner.root();
      }
    }
  }

  let itemsPath = "";
  let collection = result;
  if (!rdoc.isArray(result)) {
    itemsPath = "/items";
    collection = rdoc.field(result, "items");
  }
  const els = rdoc.items(collection);
  const w = output(outPtr, outCap);
  w.raw('{"labeled_paths":[');
  let count = 0;
  for (let i = 0; i < els.length; i++) {
    // Copied verbatim (no per-item allocation): the host normalises label sets.
    const labels = rdoc.field(els[i], "_labels");
    if (!rdoc.isObject(labels)) continue;
    if (count > 0) w.byte(0x2c);
    w.raw('{"path":"').raw(itemsPath).byte(0x2f).uint(<u32>i).raw('","labels":{"description":');
    const d = rdoc.field(labels, "description");
    if (rdoc.isString(d)) w.rawValue(rdoc, d, false);
    else w.raw('"item ').uint(<u32>i).byte(0x22);
    writeTags(w, rdoc, rdoc.field(labels, "secrecy"), ',"secrecy":');
    writeTags(w, rdoc, rdoc.field(labels, "integrity"), ',"integrity":');
    w.raw("}}");
    count++;
  }
  if (inner != null) inner.free();
  if (count == 0) {
    w.free();
    return 0;
  }
  const r = ruleFor(tool);
  w.raw('],"default_labels":');
  writeLabels(w, describe(r, tool), r.secrecy, r.integrity);
  w.raw(',"items_path":').str(itemsPath).raw("}");
  return emit("label_response", w, outPtr, outCap);
}
