// "github" sample guard: labels GitHub MCP tool calls for DIFC.
//
// Labelling rules and the policy format are documented in guards/README.md;
// keep the two in step. In short:
//   secrecy   private repo o/r -> ["private:o/r"] (["private:o"] when the
//             policy grants o/*); public repo -> []. Public only by the
//             policy's public-repos list or the backend, never by tool args.
//   integrity levels none < unapproved < approved < merged, written as the
//             tags of every level at or below the one reached (none = no tag):
//             approved in scope T -> ["unapproved:T", "approved:T"].

import { JsonDoc, JsonWriter, KeySet } from "../../lib/json";
import {
  ERR_INVALID_INPUT,
  ERR_INVALID_JSON,
  callBackend,
  emit,
  inputDoc,
  logInfo,
  logWarn,
  output,
} from "../../lib/abi";

export { alloc, dealloc } from "../../lib/abi";
import { collectGarbage, endCall } from "../../lib/abi";

// ------------------------------------------------------------------ constants

const NONE: i32 = 0;
const UNAPPROVED: i32 = 1;
const APPROVED: i32 = 2;
const MERGED: i32 = 3;
const LEVEL_NAMES: string[] = ["none", "unapproved", "approved", "merged"];

const REPOS_ALL: i32 = 0;
const REPOS_PUBLIC: i32 = 1;
const REPOS_LIST: i32 = 2;

const OP_READ = "read";
const OP_WRITE = "write";
const OP_READ_WRITE = "read-write";

/** Scope of integrity tags for policies that span owners (all, public, several owners). */
const GLOBAL_SCOPE = "github";
/** Secrecy tag of an item whose repository cannot be determined (fails closed). */
const UNKNOWN_REPO_SECRECY = "private:<unknown>";
/** Distinct repositories whose visibility one call may look up through the backend. */
const MAX_LOOKUPS: i32 = 20;

/** Keys under which list-like results keep their collection, tried in order. */
const COLLECTION_KEYS = new KeySet(["items", "issues", "pull_requests", "comments", "repositories"]);
/** Counts GitHub computes next to a collection (labelled approved, with the call's secrecy). */
const META_KEYS: string[] = ["total_count", "incomplete_results"];

// ------------------------------------------------------------------ policy state
// Instance state: set by label_agent, read by label_resource/label_response.
// Before any label_agent the guard labels as if the policy were
// {"repos": "all", "min-integrity": "none"} (integrity scope "github").

let reposMode: i32 = REPOS_ALL;
/** Exact "owner/repo" entries not covered by an owner wildcard (lowercase, sorted). */
let exactRepos: Array<string> = [];
/** Owners granted with "owner/*" (lowercase, sorted). */
let ownerWildcards: Array<string> = [];
let minIntegrity: i32 = NONE;
let difcMode: string = "filter";
let difcModeGiven: bool = false;
let integrityScope: string = GLOBAL_SCOPE;
/** Repositories the operator's policy declares public ("public-repos"): exact "owner/repo" and "owner/*" owners. */
let publicExact: Array<string> = [];
let publicOwners: Array<string> = [];
let publicGiven: bool = false;

/** Per-call cache of backend visibility lookups: "owner/repo" -> 1 private, 0 public. */
const lookups = new Map<string, i32>();

class Policy {
  reposMode: i32 = REPOS_ALL;
  exact: Array<string> = [];
  owners: Array<string> = [];
  min: i32 = NONE;
  mode: string = "filter";
  modeGiven: bool = false;
  publicExact: Array<string> = [];
  publicOwners: Array<string> = [];
  publicGiven: bool = false;
  error: string | null = null;
}

function fail(p: Policy, message: string): Policy {
  p.error = message;
  return p;
}

function isNameChar(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f || c == 0x2e;
}

function isName(s: string): bool {
  if (s.length == 0 || s.length > 100 || s == "." || s == "..") return false;
  for (let i = 0; i < s.length; i++) if (!isNameChar(s.charCodeAt(i))) return false;
  return true;
}

function levelOf(name: string): i32 {
  for (let i = 0; i < LEVEL_NAMES.length; i++) if (LEVEL_NAMES[i] == name) return i;
  return -1;
}

function quoted(s: string): string {
  return '"' + s + '"';
}

function parsePolicy(doc: JsonDoc, root: i32): Policy {
  const p = new Policy();
  if (!doc.isObject(root)) return fail(p, "policy must be a JSON object");
  const top = doc.members(root);
  for (let i = 0; i < top.length; i += 2) {
    if (!doc.keyEquals(top[i], "allow-only")) {
      return fail(p, "unknown policy field " + quoted(doc.strOr(top[i], "")) + ' (expected only "allow-only")');
    }
  }
  const allow = doc.field(root, "allow-only");
  if (allow < 0) return fail(p, 'policy must contain an "allow-only" object');
  if (!doc.isObject(allow)) return fail(p, '"allow-only" must be an object');

  const fields = doc.members(allow);
  for (let i = 0; i < fields.length; i += 2) {
    const k = fields[i];
    if (
      !doc.keyEquals(k, "repos") && !doc.keyEquals(k, "min-integrity") && !doc.keyEquals(k, "difc-mode") &&
      !doc.keyEquals(k, "public-repos")
    ) {
      return fail(
        p,
        "unknown field allow-only." + doc.strOr(k, "") +
          ' (expected "repos", "min-integrity" and optionally "difc-mode" and "public-repos")',
      );
    }
  }

  // repos
  const repos = doc.field(allow, "repos");
  const reposHelp = 'allow-only.repos must be "all", "public" or a non-empty array of "owner/repo" or "owner/*" patterns';
  if (repos < 0) {
    return fail(p, 'allow-only.repos is required ("all", "public" or an array of "owner/repo" or "owner/*" patterns)');
  }
  if (doc.isString(repos)) {
    const v = doc.strOr(repos, "").toLowerCase();
    if (v == "all") p.reposMode = REPOS_ALL;
    else if (v == "public") p.reposMode = REPOS_PUBLIC;
    else return fail(p, reposHelp + " (got " + quoted(doc.strOr(repos, "")) + ")");
  } else if (doc.isArray(repos)) {
    const els = doc.items(repos);
    if (els.length == 0) return fail(p, reposHelp + " (got an empty array)");
    const owners = new Set<string>();
    const exact = new Set<string>();
    for (let i = 0; i < els.length; i++) {
      const s = doc.str(els[i]);
      if (s == null) return fail(p, "allow-only.repos[" + i.toString() + "] must be a string");
      const v = s.toLowerCase();
      const slash = v.indexOf("/");
      const owner = slash < 0 ? "" : v.substring(0, slash);
      const name = slash < 0 ? "" : v.substring(slash + 1);
      if (!isName(owner) || (name != "*" && !isName(name))) {
        return fail(
          p,
          "allow-only.repos[" + i.toString() + "]: " + quoted(s) + ' is not an "owner/repo" or "owner/*" pattern',
        );
      }
      if (name == "*") owners.add(owner);
      else exact.add(v);
    }
    p.reposMode = REPOS_LIST;
    p.owners = owners.values();
    p.owners.sort();
    const ex = exact.values();
    for (let i = 0; i < ex.length; i++) {
      const r = ex[i];
      if (!owners.has(r.substring(0, r.indexOf("/")))) p.exact.push(r);
    }
    p.exact.sort();
  } else {
    return fail(p, reposHelp);
  }

  // min-integrity
  const mi = doc.field(allow, "min-integrity");
  const miHelp = 'allow-only.min-integrity must be one of "none", "unapproved", "approved", "merged"';
  if (mi < 0) {
    return fail(p, 'allow-only.min-integrity is required (one of "none", "unapproved", "approved", "merged")');
  }
  const miStr = doc.str(mi);
  if (miStr == null) return fail(p, miHelp);
  const level = levelOf(miStr.toLowerCase());
  if (level < 0) return fail(p, miHelp + " (got " + quoted(miStr) + ")");
  p.min = level;

  // difc-mode (optional)
  const dm = doc.field(allow, "difc-mode");
  if (dm >= 0) {
    const dmStr = doc.str(dm);
    const m = dmStr == null ? "" : dmStr.toLowerCase();
    if (m != "strict" && m != "filter" && m != "propagate") {
      return fail(
        p,
        'allow-only.difc-mode must be "strict", "filter" or "propagate"' +
          (dmStr == null ? "" : " (got " + quoted(dmStr) + ")"),
      );
    }
    p.mode = m;
    p.modeGiven = true;
  }

  // public-repos (optional): the repositories the operator declares public
  const pub = doc.field(allow, "public-repos");
  if (pub >= 0) {
    const pubHelp = 'allow-only.public-repos must be an array of "owner/repo" or "owner/*" patterns';
    if (!doc.isArray(pub)) return fail(p, pubHelp);
    const els = doc.items(pub);
    const owners = new Set<string>();
    const exact = new Set<string>();
    for (let i = 0; i < els.length; i++) {
      const s = doc.str(els[i]);
      if (s == null) return fail(p, "allow-only.public-repos[" + i.toString() + "] must be a string");
      const v = s.toLowerCase();
      const slash = v.indexOf("/");
      const owner = slash < 0 ? "" : v.substring(0, slash);
      const name = slash < 0 ? "" : v.substring(slash + 1);
      if (!isName(owner) || (name != "*" && !isName(name))) {
        return fail(p, "allow-only.public-repos[" + i.toString() + "]: " + quoted(s) + ' is not an "owner/repo" or "owner/*" pattern');
      }
      if (name == "*") owners.add(owner);
      else exact.add(v);
    }
    p.publicOwners = owners.values();
    p.publicOwners.sort();
    const ex = exact.values();
    for (let i = 0; i < ex.length; i++) {
      const r = ex[i];
      if (!owners.has(r.substring(0, r.indexOf("/")))) p.publicExact.push(r);
    }
    p.publicExact.sort();
    p.publicGiven = true;
  }
  return p;
}

function scopeOf(p: Policy): string {
  if (p.reposMode != REPOS_LIST) return GLOBAL_SCOPE;
  let only: string | null = null;
  for (let i = 0; i < p.owners.length; i++) {
    const o = p.owners[i];
    if (only == null) only = o;
    else if (only != o) return GLOBAL_SCOPE;
  }
  for (let i = 0; i < p.exact.length; i++) {
    const r = p.exact[i];
    const o = r.substring(0, r.indexOf("/"));
    if (only == null) only = o;
    else if (only != o) return GLOBAL_SCOPE;
  }
  return only == null ? GLOBAL_SCOPE : only;
}

function commit(p: Policy): void {
  reposMode = p.reposMode;
  exactRepos = p.exact;
  ownerWildcards = p.owners;
  minIntegrity = p.min;
  difcMode = p.mode;
  difcModeGiven = p.modeGiven;
  publicExact = p.publicExact;
  publicOwners = p.publicOwners;
  publicGiven = p.publicGiven;
  integrityScope = scopeOf(p);
  scopeTags = buildScopeTags(integrityScope);
}

// ------------------------------------------------------------------ labels

/** Integrity tags of `level` in `scope`: every level from unapproved up to it. */
function buildIntegrityTags(level: i32, scope: string): Array<string> {
  const out = new Array<string>();
  for (let l = UNAPPROVED; l <= level; l++) out.push(LEVEL_NAMES[l] + ":" + scope);
  return out;
}

function buildScopeTags(scope: string): Array<Array<string>> {
  const all = new Array<Array<string>>();
  for (let l = NONE; l <= MERGED; l++) all.push(buildIntegrityTags(l, scope));
  return all;
}

/** The tags of each level in the policy's integrity scope, built once per policy (never mutated). */
let scopeTags: Array<Array<string>> = buildScopeTags(GLOBAL_SCOPE);

function integrityTags(level: i32, scope: string): Array<string> {
  return scope == integrityScope ? scopeTags[level] : buildIntegrityTags(level, scope);
}

class Repo {
  fullName: string;
  /** Cached JSON of this repo's item tags, by private * 4 + level (see writeItemTags). */
  fragments: Array<string | null> | null = null;
  constructor(public owner: string, public name: string) {
    this.fullName = owner + "/" + name;
  }
  full(): string {
    return this.fullName;
  }
}

function parseFullName(s: string | null): Repo | null {
  if (s == null) return null;
  const v = s.toLowerCase();
  const slash = v.indexOf("/");
  if (slash <= 0 || slash == v.length - 1) return null;
  const owner = v.substring(0, slash);
  let name = v.substring(slash + 1);
  const extra = name.indexOf("/");
  if (extra >= 0) name = name.substring(0, extra);
  if (!isName(owner) || !isName(name)) return null;
  return new Repo(owner, name);
}

/** "owner/name" from a URL containing ".../repos/owner/name" or "github.com/owner/name". */
function repoFromUrl(s: string | null): Repo | null {
  if (s == null) return null;
  let i = s.indexOf("/repos/");
  if (i >= 0) return parseFullName(s.substring(i + 7));
  i = s.indexOf("github.com/");
  if (i >= 0) return parseFullName(s.substring(i + 11));
  return null;
}

// tool_args members the guard reads, found in one pass by Args.read().
const A_REPO = 0;
const A_OWNER = 1;
const A_REPOSITORY = 2;
const A_FULL_NAME = 3;
const A_QUERY = 4;
const A_REF = 5;
const A_BRANCH = 6;
const A_SHA = 7;
// No "private" or "visibility": tool arguments come from the agent, and an agent
// that could declare a private repository public would read it unlabelled.
const ARG_KEYS = new KeySet(["repo", "owner", "repository", "full_name", "query", "ref", "branch", "sha"]);

/** Value offsets of the ARG_KEYS members of tool_args (-1 when missing). One instance, reused. */
class Args {
  pos: Array<i32> = new Array<i32>(ARG_KEYS.length);
  doc: JsonDoc = new JsonDoc(0, 0);
  read(doc: JsonDoc, obj: i32): Args {
    this.doc = doc;
    doc.fields(obj, ARG_KEYS, this.pos);
    return this;
  }
  str(key: i32): string | null {
    return this.doc.str(this.pos[key]);
  }
}

/** The repository a tool call targets: owner+repo, repo "o/r", repository/full_name, or repo: in a search query. */
function repoFromArgs(args: Args): Repo | null {
  const repo = args.str(A_REPO);
  const owner = args.str(A_OWNER);
  if (repo != null) {
    if (repo.indexOf("/") >= 0) return parseFullName(repo);
    if (owner != null) return parseFullName(owner + "/" + repo);
  }
  let r = parseFullName(args.str(A_REPOSITORY));
  if (r != null) return r;
  r = parseFullName(args.str(A_FULL_NAME));
  if (r != null) return r;
  const q = args.str(A_QUERY);
  if (q != null) {
    const i = q.indexOf("repo:");
    if (i >= 0 && (i == 0 || q.charCodeAt(i - 1) == 0x20)) {
      let end = q.indexOf(" ", i);
      if (end < 0) end = q.length;
      return parseFullName(q.substring(i + 5, end));
    }
  }
  return null;
}

/** 1 private, 0 public, -1 unknown, from a "private" boolean or a "visibility" string. */
function visibilityOf(doc: JsonDoc, obj: i32): i32 {
  if (!doc.isObject(obj)) return -1;
  return visibilityFrom(doc, doc.field(obj, "private"), doc.field(obj, "visibility"));
}

function visibilityFrom(doc: JsonDoc, privatePos: i32, visibilityPos: i32): i32 {
  const b = doc.bool(privatePos);
  if (b >= 0) return b;
  const v = doc.str(visibilityPos);
  if (v == null) return -1;
  const l = v.toLowerCase();
  if (l == "public") return 0;
  if (l == "private" || l == "internal") return 1;
  return -1;
}

/**
 * Visibility of a repository through the backend tool get_repository
 * {"owner","repo"} -> {"private": bool} (or {"visibility": "..."}, plain or
 * as MCP text content). Any failure counts as private: fail closed.
 */
function lookupPrivate(repo: Repo): i32 {
  const key = repo.full();
  if (lookups.has(key)) return lookups.get(key);
  if (lookups.size >= MAX_LOOKUPS) {
    logWarn("too many repositories to look up in one call; treating " + key + " as private");
    return 1;
  }
  let result = 1;
  const args = new JsonWriter(64);
  args.raw('{"owner":').str(repo.owner).raw(',"repo":').str(repo.name).raw("}");
  const argsJson = String.UTF8.decodeUnsafe(args.buf, <usize>args.len);
  args.free();
  const doc = callBackend("get_repository", argsJson);
  if (doc != null) {
    const root = doc.root();
    let v = visibilityOf(doc, root);
    if (v < 0) {
      const inner = mcpText(doc, root);
      if (inner != null) {
        v = visibilityOf(inner, inner.root());
        inner.free();
      }
    }
    doc.free();
    if (v >= 0) result = v;
    else logWarn("get_repository " + key + ": no visibility in the result; treating it as private");
  } else {
    logWarn("get_repository " + key + " failed; treating it as private");
  }
  lookups.set(key, result);
  return result;
}

const BLOCK_KEYS = new KeySet(["type", "text"]);
const blockPos = new Array<i32>(BLOCK_KEYS.length);

/** The JSON inside an MCP text result {"content":[{"type":"text","text":"<json>"}]}, or null. */
function mcpText(doc: JsonDoc, pos: i32): JsonDoc | null {
  const content = doc.field(pos, "content");
  if (!doc.isArray(content)) return null;
  const blocks = doc.items(content);
  for (let i = 0; i < blocks.length; i++) {
    // One pass over the block: its text is most of the input.
    doc.fields(blocks[i], BLOCK_KEYS, blockPos);
    if (!doc.keyEquals(blockPos[0], "text")) continue;
    const inner = doc.stringAsDoc(blockPos[1]);
    if (inner == null) return null;
    if (inner.validate()) return inner;
    inner.free();
    return null;
  }
  return null;
}

function inScope(repo: Repo | null): bool {
  if (repo == null || reposMode != REPOS_LIST) return true;
  return ownerWildcards.includes(repo.owner) || exactRepos.includes(repo.full());
}

function secrecyTags(repo: Repo | null, priv: i32): Array<string> {
  const out = new Array<string>();
  if (priv == 0) return out;
  if (repo == null) {
    if (priv > 0) out.push(UNKNOWN_REPO_SECRECY);
    return out;
  }
  if (reposMode == REPOS_LIST && ownerWildcards.includes(repo.owner)) out.push("private:" + repo.owner);
  else out.push("private:" + repo.full());
  return out;
}

function scopedIntegrity(level: i32, repo: Repo | null): Array<string> {
  return integrityTags(level, inScope(repo) ? integrityScope : repo!.owner);
}

class Labels {
  description: string = "";
  secrecy: Array<string> = [];
  integrity: Array<string> = [];
  operation: string = OP_WRITE;
}

function writeLabels(w: JsonWriter, l: Labels): void {
  w.raw('{"description":').str(l.description);
  w.raw(',"secrecy":').strArray(l.secrecy);
  w.raw(',"integrity":').strArray(l.integrity);
  w.raw("}");
}

function startsWith(s: string, prefix: string): bool {
  return s.startsWith(prefix);
}

function endsWith(s: string, suffix: string): bool {
  return s.endsWith(suffix);
}

function hasAny(s: string, parts: string[]): bool {
  for (let i = 0; i < parts.length; i++) if (s.includes(parts[i])) return true;
  return false;
}

const READ_WRITE_TOOLS: string[] = ["fork_repository", "update_pull_request_branch"];
const READ_PREFIXES: string[] = ["get_", "list_", "search_"];
const READ_SUFFIXES: string[] = ["_read", "_get", "_list"];
const WRITE_PREFIXES: string[] = [
  "create_", "update_", "delete_", "push_", "merge_", "add_", "remove_", "fork_", "assign_",
  "request_", "dismiss_", "mark_", "star_", "unstar_", "rerun_", "cancel_", "run_", "set_",
  "manage_", "lock_", "unlock_", "submit_", "resolve_", "reprioritize_",
];
const WRITE_SUFFIXES: string[] = ["_write"];
/** Tools whose data is written by users anyone may be (per-item labels refine reads). */
const USER_CONTENT: string[] = ["issue", "pull_request", "discussion", "comment", "notification", "gist", "review"];
const DEFAULT_REFS: string[] = ["main", "master", "head", "refs/heads/main", "refs/heads/master"];

function operationOf(tool: string): string {
  if (READ_WRITE_TOOLS.includes(tool)) return OP_READ_WRITE;
  for (let i = 0; i < READ_PREFIXES.length; i++) if (startsWith(tool, READ_PREFIXES[i])) return OP_READ;
  for (let i = 0; i < READ_SUFFIXES.length; i++) if (endsWith(tool, READ_SUFFIXES[i])) return OP_READ;
  for (let i = 0; i < WRITE_PREFIXES.length; i++) if (startsWith(tool, WRITE_PREFIXES[i])) return OP_WRITE;
  for (let i = 0; i < WRITE_SUFFIXES.length; i++) if (endsWith(tool, WRITE_SUFFIXES[i])) return OP_WRITE;
  return OP_WRITE; // unknown: the most restrictive operation
}

/** Whether the call targets the default branch: no ref/branch/sha, or main/master/HEAD. */
function onDefaultBranch(args: Args, keys: i32[]): bool {
  for (let i = 0; i < keys.length; i++) {
    const v = args.str(keys[i]);
    if (v != null && v.length > 0 && !DEFAULT_REFS.includes(v.toLowerCase())) return false;
  }
  return true;
}

const REF_KEYS: i32[] = [A_REF, A_BRANCH, A_SHA];
const BRANCH_KEYS: i32[] = [A_BRANCH];

/** Integrity level of the resource a tool touches (before the private-repo floor). */
function toolLevel(tool: string, op: string, args: Args): i32 {
  if (op == OP_READ) {
    if (tool == "get_commit") return APPROVED;
    if (
      tool == "get_file_contents" || tool == "get_repository_tree" || tool == "list_commits" ||
      tool == "get_file_blame"
    ) {
      return onDefaultBranch(args, REF_KEYS) ? MERGED : APPROVED;
    }
    if (hasAny(tool, USER_CONTENT)) return NONE;
    return APPROVED;
  }
  // write and read-write: the integrity a writer must hold for this sink
  if (tool == "merge_pull_request") return MERGED;
  if (tool == "push_files" || tool == "create_or_update_file" || tool == "delete_file") {
    return onDefaultBranch(args, BRANCH_KEYS) ? MERGED : APPROVED;
  }
  if (op == OP_WRITE && hasAny(tool, USER_CONTENT)) return NONE;
  return APPROVED;
}

/**
 * 1 private, 0 public, for the repository a call targets: the policy's
 * public-repos list, else the backend (fail closed). Never the tool
 * arguments: they are the agent's to write.
 */
function argsPrivate(repo: Repo | null): i32 {
  if (repo == null) return 0; // not about a repository: GitHub-wide public metadata
  return repoPrivate(repo);
}

/** The operator's word first (public-repos in the policy), then the backend; no answer means private. */
function repoPrivate(repo: Repo): i32 {
  if (publicOwners.includes(repo.owner) || publicExact.includes(repo.full())) return 0;
  return lookupPrivate(repo);
}

/** Resource labels for a tool call (label_resource, and default_labels of label_response). */
function labelTool(tool: string, args: Args): Labels {
  const l = new Labels();
  const repo = repoFromArgs(args);
  const priv = argsPrivate(repo);
  l.operation = operationOf(tool);
  let level = toolLevel(tool, l.operation, args);
  if (priv > 0 && level < APPROVED) level = APPROVED; // private repos: only collaborators write there
  l.description = repo != null ? "repo " + repo.full() : "github";
  l.secrecy = secrecyTags(repo, priv);
  l.integrity = scopedIntegrity(level, repo);
  return l;
}

// Item members the guard reads, found in one pass per item.
const I_ASSOC = 0;
const I_FULL_NAME = 1;
const I_PRIVATE = 2;
const I_VISIBILITY = 3;
const I_REPOSITORY = 4;
const I_REPOSITORY_URL = 5;
const I_REPOSITORY_PRIVATE = 6;
const I_BASE = 7;
const I_MERGED = 8;
const I_MERGED_AT = 9;
const I_PULL_REQUEST = 10;
const I_HEAD = 11;
const I_NUMBER = 12;
const I_USER = 13;
const I_HTML_URL = 14;
const I_COMMIT = 15;
const I_SUBJECT = 16;
const I_PATH = 17;
const I_SHA = 18;
const I_PUBLIC = 19;
const I_ID = 20;
const I_OWNER = 21;
const ITEM_KEYS = new KeySet([
  "author_association", "full_name", "private", "visibility", "repository", "repository_url",
  "repository_private", "base", "merged", "merged_at", "pull_request", "head", "number", "user", "html_url",
  "commit", "subject", "path", "sha", "public", "id", "owner",
]);

// What an item is, for its description.
const K_USER_CONTENT = 0; // issue, pull request, comment
const K_REPO = 1;
const K_CODE = 2;
const K_COMMIT = 3;
const K_NOTIFICATION = 4;
const K_REPO_ITEM = 5;
const K_GIST = 6;
const itemPos = new Array<i32>(ITEM_KEYS.length);

// Per-call cache for label_response: most items of a list share a few
// repositories. Keyed by the raw bytes of the JSON string a repository came
// from (a URL or an "owner/name"), so a hit allocates nothing. 64 slots,
// direct-mapped; emptied at the start and end of every call (the keys point
// into that call's input).
const REPO_SLOTS: i32 = 64;
const URL_KIND: i32 = 0;
const NAME_KIND: i32 = 1;
const slotPtr = new StaticArray<usize>(REPO_SLOTS);
const slotLen = new StaticArray<i32>(REPO_SLOTS);
const slotKind = new StaticArray<i32>(REPO_SLOTS);
const slotRepo = new StaticArray<Repo | null>(REPO_SLOTS);

function resetItemCaches(): void {
  for (let i = 0; i < REPO_SLOTS; i++) {
    slotLen[i] = -1;
    slotRepo[i] = null;
  }
}

/** The repository named by the string at `pos`: a URL (URL_KIND) or "owner/name" (NAME_KIND); cached. */
function repoAt(doc: JsonDoc, pos: i32, kind: i32): Repo | null {
  if (!doc.isString(pos)) return null;
  const ptr = doc.base + <usize>pos;
  const len = doc.skip(pos) - pos;
  let h: u32 = 2166136261 ^ <u32>kind;
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 16777619;
  const slot = <i32>((h ^ (h >> 16)) & <u32>(REPO_SLOTS - 1));
  if (slotLen[slot] == len && slotKind[slot] == kind && memory.compare(ptr, slotPtr[slot], <usize>len) == 0) {
    return slotRepo[slot];
  }
  const s = doc.str(pos);
  const repo = kind == URL_KIND ? repoFromUrl(s) : parseFullName(s);
  slotPtr[slot] = ptr;
  slotLen[slot] = len;
  slotKind[slot] = kind;
  slotRepo[slot] = repo;
  return repo;
}

/**
 * Writes `"secrecy":[...],"integrity":[...]` for an item (priv is 0 or 1).
 * The JSON is cached on the Repo, which repoAt() reuses across the items of
 * one repository.
 */
function writeItemTags(w: JsonWriter, repo: Repo | null, priv: i32, level: i32): void {
  const slot = priv * 4 + level;
  if (repo != null) {
    const all = repo.fragments;
    const cached = all != null ? all[slot] : null;
    if (cached != null) {
      w.raw(cached); // ASCII without quotes: owner/repo names are checked by isName()
      return;
    }
  }
  const f = new JsonWriter(128);
  f.raw('"secrecy":').strArray(secrecyTags(repo, priv));
  f.raw(',"integrity":').strArray(scopedIntegrity(level, repo));
  const fragment = String.UTF8.decodeUnsafe(f.buf, <usize>f.len);
  f.free();
  if (repo != null) {
    let all = repo.fragments;
    if (all == null) repo.fragments = all = new Array<string | null>(8);
    all[slot] = fragment;
  }
  w.raw(fragment);
}

function associationLevel(doc: JsonDoc, pos: i32): i32 {
  if (doc.keyEquals(pos, "OWNER") || doc.keyEquals(pos, "MEMBER") || doc.keyEquals(pos, "COLLABORATOR")) return APPROVED;
  if (doc.keyEquals(pos, "CONTRIBUTOR") || doc.keyEquals(pos, "FIRST_TIME_CONTRIBUTOR")) return UNAPPROVED;
  if (doc.keyEquals(pos, "NONE") || doc.keyEquals(pos, "FIRST_TIMER")) return NONE;
  const a = doc.strOr(pos, "").toUpperCase(); // other spellings: rare
  if (a == "OWNER" || a == "MEMBER" || a == "COLLABORATOR") return APPROVED;
  if (a == "CONTRIBUTOR" || a == "FIRST_TIME_CONTRIBUTOR") return UNAPPROVED;
  return NONE; // NONE, FIRST_TIMER, MANNEQUIN, anything else
}

/**
 * Labels one item of a list/search result and writes its labeled_paths entry
 * {"path": ..., "labels": {...}} (index < 0: the path is "", a single
 * result). Returns false (and writes nothing) when the item is none of the
 * shapes below: it then gets default_labels.
 */
function writeItem(
  w: JsonWriter,
  doc: JsonDoc,
  item: i32,
  itemsPath: string,
  index: i32,
  first: bool,
  argsRepo: Repo | null,
): bool {
  if (!doc.isObject(item)) return false;
  const f = itemPos;
  doc.fields(item, ITEM_KEYS, f);
  const assoc = f[I_ASSOC];
  let repo: Repo | null = null;
  let priv: i32 = -1;
  let level: i32 = NONE;
  let kind = K_USER_CONTENT;

  if (!doc.isString(assoc)) {
    priv = visibilityFrom(doc, f[I_PRIVATE], f[I_VISIBILITY]);
    const repository = f[I_REPOSITORY];
    if (priv >= 0) {
      // a repository object (search_repositories, list_repositories, ...)
      repo = repoAt(doc, f[I_FULL_NAME], NAME_KIND);
      if (repo == null) return false;
      level = APPROVED;
      kind = K_REPO;
    } else if (doc.isObject(repository)) {
      // an item of a repository that keeps its privacy there: search_code,
      // search_commits, notifications
      repo = repoAt(doc, doc.field(repository, "full_name"), NAME_KIND);
      if (repo == null) repo = repoAt(doc, doc.field(repository, "html_url"), URL_KIND);
      priv = visibilityOf(doc, repository);
      if (priv < 0) priv = repo != null ? lookupPrivate(repo) : 1;
      if (doc.isObject(f[I_COMMIT])) {
        kind = K_COMMIT; // pushed by someone with write access
        level = APPROVED;
      } else if (doc.isObject(f[I_SUBJECT])) {
        kind = K_NOTIFICATION; // subject titles are written by anyone
        level = NONE;
      } else if (doc.isString(f[I_PATH])) {
        kind = K_CODE; // code search covers the default branch, like label_resource
        level = APPROVED;
      } else {
        kind = K_REPO_ITEM;
        level = NONE;
      }
    } else {
      // a gist: "public": false is a secret gist, which belongs to no
      // repository a policy can grant
      const pub = doc.bool(f[I_PUBLIC]);
      if (pub < 0) return false;
      priv = pub == 1 ? 0 : 1;
      kind = K_GIST;
      level = NONE;
    }
  } else {
    const repository = f[I_REPOSITORY];
    const baseRepo = doc.field(f[I_BASE], "repo");
    repo = repoAt(doc, doc.field(repository, "full_name"), NAME_KIND);
    if (repo == null) repo = repoAt(doc, f[I_REPOSITORY_URL], URL_KIND);
    if (repo == null) repo = repoAt(doc, doc.field(baseRepo, "full_name"), NAME_KIND);
    if (repo == null) repo = repoAt(doc, f[I_HTML_URL], URL_KIND);
    if (repo == null) repo = argsRepo;

    priv = doc.bool(f[I_REPOSITORY_PRIVATE]);
    if (priv < 0) priv = visibilityOf(doc, repository);
    if (priv < 0) priv = visibilityOf(doc, baseRepo);
    if (priv < 0) priv = repo != null ? repoPrivate(repo) : 1;

    level = associationLevel(doc, assoc);
    if (doc.bool(f[I_MERGED]) == 1 || doc.isString(f[I_MERGED_AT])) level = MERGED;
  }
  if (priv > 0 && level < APPROVED) level = APPROVED; // private repositories: only collaborators write there

  if (!first) w.byte(0x2c);
  w.raw('{"path":"');
  if (index >= 0) w.raw(itemsPath).byte(0x2f).uint(<u32>index);
  w.raw('","labels":{"description":"');
  if (kind == K_REPO) {
    w.raw("repo ").raw(repo!.full());
  } else if (kind == K_CODE || kind == K_COMMIT || kind == K_NOTIFICATION || kind == K_REPO_ITEM) {
    w.raw(kind == K_CODE ? "code" : kind == K_COMMIT ? "commit" : kind == K_NOTIFICATION ? "notification" : "item");
    if (repo != null) w.raw(" in ").raw(repo.full());
    const at = kind == K_CODE ? f[I_PATH] : kind == K_COMMIT ? f[I_SHA] : -1;
    if (doc.isString(at)) w.byte(0x20).rawValue(doc, at, true);
  } else if (kind == K_GIST) {
    w.raw(priv > 0 ? "secret gist" : "gist");
    if (doc.isString(f[I_ID])) w.byte(0x20).rawValue(doc, f[I_ID], true);
    const login = doc.field(f[I_OWNER], "login");
    if (doc.isString(login)) w.raw(" by ").rawValue(doc, login, true);
  } else {
    const number = f[I_NUMBER];
    const hasNumber = number >= 0 && !doc.isString(number) && doc.int(number) != i64.MIN_VALUE;
    if (hasNumber) {
      const isPull = f[I_PULL_REQUEST] >= 0 || f[I_MERGED_AT] >= 0 || f[I_HEAD] >= 0 || f[I_BASE] >= 0;
      w.raw(isPull ? "pull request " : "issue ");
      if (repo != null) w.raw(repo.full());
      w.byte(0x23).rawValue(doc, number, false);
    } else {
      w.raw("comment");
      if (repo != null) w.raw(" in ").raw(repo.full());
    }
    const login = doc.field(f[I_USER], "login");
    if (doc.isString(login)) w.raw(" by ").rawValue(doc, login, true);
  }
  w.raw('",');
  writeItemTags(w, repo, priv, level);
  w.raw("}}");
  return true;
}

// ------------------------------------------------------------------ exports

const theArgs = new Args();

const R_TOOL_NAME = 0;
const R_TOOL_ARGS = 1;
const R_TOOL_RESULT = 2;
const ROOT_KEYS = new KeySet(["tool_name", "tool_args", "tool_result"]);
const rootPos = new Array<i32>(ROOT_KEYS.length);

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
  commit(p);

  const secrecy = new Array<string>();
  if (reposMode == REPOS_ALL) secrecy.push("*");
  else if (reposMode == REPOS_LIST) {
    for (let i = 0; i < ownerWildcards.length; i++) secrecy.push("private:" + ownerWildcards[i]);
    for (let i = 0; i < exactRepos.length; i++) secrecy.push("private:" + exactRepos[i]);
    secrecy.sort();
  }
  const integrity = integrityTags(minIntegrity, integrityScope);

  w.raw('{"agent":{"secrecy":').strArray(secrecy);
  w.raw(',"integrity":').strArray(integrity);
  w.raw('},"difc_mode":').str(difcMode);
  w.raw(',"normalized_policy":{"allow-only":{"repos":');
  if (reposMode == REPOS_ALL) w.str("all");
  else if (reposMode == REPOS_PUBLIC) w.str("public");
  else {
    const list = new Array<string>();
    for (let i = 0; i < ownerWildcards.length; i++) list.push(ownerWildcards[i] + "/*");
    for (let i = 0; i < exactRepos.length; i++) list.push(exactRepos[i]);
    list.sort();
    w.strArray(list);
  }
  w.raw(',"min-integrity":').str(LEVEL_NAMES[minIntegrity]);
  if (difcModeGiven) w.raw(',"difc-mode":').str(difcMode);
  if (publicGiven) {
    const list = new Array<string>();
    for (let i = 0; i < publicOwners.length; i++) list.push(publicOwners[i] + "/*");
    for (let i = 0; i < publicExact.length; i++) list.push(publicExact[i]);
    list.sort();
    w.raw(',"public-repos":').strArray(list);
  }
  w.raw("}}}");
  logInfo("label_agent: policy accepted, integrity scope " + integrityScope);
  return emit("label_agent", w, outPtr, outCap);
}

export function label_resource(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelResource(inPtr, inLen, outPtr, outCap), inLen);
}

function labelResource(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const doc = inputDoc("label_resource", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  doc.fields(doc.root(), ROOT_KEYS, rootPos);
  const tool = doc.str(rootPos[R_TOOL_NAME]);
  if (tool == null) {
    logWarn('label_resource: input has no "tool_name" string');
    return ERR_INVALID_INPUT;
  }
  lookups.clear();
  const l = labelTool(tool, theArgs.read(doc, rootPos[R_TOOL_ARGS]));
  const w = output(outPtr, outCap);
  w.raw('{"resource":');
  writeLabels(w, l);
  w.raw(',"operation":').str(l.operation).raw("}");
  return emit("label_resource", w, outPtr, outCap);
}

export function label_response(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  return endCall(labelResponse(inPtr, inLen, outPtr, outCap), inLen);
}

/**
 * The live state of a label_response call. The guards use the minimal
 * runtime, which frees every object not reachable from a global when it
 * collects; label_response keeps this in the global `call` while it walks the
 * items, so it can collect every COLLECT_EVERY + 1 items and a huge result
 * cannot exhaust memory with per-item garbage.
 */
class ResponseCall {
  constructor(
    public tool: string,
    public doc: JsonDoc,
    public rdoc: JsonDoc,
    public inner: JsonDoc | null,
    public itemsPath: string,
    public argsRepo: Repo | null,
    public els: Array<i32>,
  ) {}
}

let call: ResponseCall | null = null;
const COLLECT_EVERY: i32 = 1023;

function labelResponse(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const doc = inputDoc("label_response", inPtr, inLen);
  if (doc == null) return ERR_INVALID_JSON;
  doc.fields(doc.root(), ROOT_KEYS, rootPos);
  const tool = doc.str(rootPos[R_TOOL_NAME]);
  if (tool == null) {
    logWarn('label_response: input has no "tool_name" string');
    return ERR_INVALID_INPUT;
  }
  lookups.clear();
  const args = theArgs.read(doc, rootPos[R_TOOL_ARGS]);

  // The result itself, or the JSON inside its MCP text content.
  let rdoc = doc;
  let result = rootPos[R_TOOL_RESULT];
  const inner = mcpText(doc, result);
  if (inner != null) {
    rdoc = inner;
    result = inner.root();
  }

  let itemsPath: string | null = null;
  let collection: i32 = -1;
  if (rdoc.isArray(result)) {
    itemsPath = "";
    collection = result;
  } else {
    const found = new Array<i32>(COLLECTION_KEYS.length);
    rdoc.fields(result, COLLECTION_KEYS, found);
    for (let i = 0; i < COLLECTION_KEYS.length; i++) {
      const c = found[i];
      if (rdoc.isArray(c)) {
        itemsPath = "/" + COLLECTION_KEYS.keys[i];
        collection = c;
        break;
      }
    }
  }
  if (itemsPath == null) {
    // A single result (get_gist, get_issue, ...): labelled whole when it is an item the guard knows.
    let out = 0;
    if (rdoc.isObject(result)) {
      resetItemCaches();
      const w = output(outPtr, outCap);
      w.raw('{"labeled_paths":[');
      if (writeItem(w, rdoc, result, "", -1, true, repoFromArgs(args))) {
        w.raw("]}");
        out = emit("label_response", w, outPtr, outCap);
      } else {
        w.free();
      }
      resetItemCaches();
    }
    if (inner != null) inner.free();
    return out;
  }

  // GitHub's own counts next to a collection: numbers and booleans the API
  // computes, not user content. Labelled here, they need not take the
  // (often untrusted) resource labels that everything unlabelled gets.
  let metaMask = 0;
  if (rdoc.isObject(result)) {
    for (let k = 0; k < META_KEYS.length; k++) {
      const pos = rdoc.field(result, META_KEYS[k]);
      if (rdoc.bool(pos) >= 0 || rdoc.int(pos) != i64.MIN_VALUE) metaMask |= 1 << k;
    }
  }

  // Everything the loop uses is reachable from the global `call`, so the
  // loop may collect garbage as it goes (see ResponseCall).
  const c = new ResponseCall(tool, doc, rdoc, inner, itemsPath, repoFromArgs(args), rdoc.items(collection));
  call = c;
  const w = output(outPtr, outCap);
  w.raw('{"labeled_paths":[');
  let count = 0;
  resetItemCaches();
  const n = c.els.length;
  for (let i = 0; i < n; i++) {
    if (writeItem(w, c.rdoc, c.els[i], c.itemsPath, i, count == 0, c.argsRepo)) count++;
    if ((i & COLLECT_EVERY) == COLLECT_EVERY) collectGarbage();
  }
  call = null;
  resetItemCaches();
  if (inner != null) inner.free();
  if (count == 0) {
    w.free();
    return 0;
  }
  const defaults = labelTool(tool, args);
  if (metaMask != 0) {
    const integrity = scopedIntegrity(APPROVED, repoFromArgs(args));
    for (let k = 0; k < META_KEYS.length; k++) {
      if ((metaMask & (1 << k)) == 0) continue;
      w.raw(',{"path":"/').raw(META_KEYS[k]).raw('","labels":{"description":"GitHub ').raw(META_KEYS[k]);
      w.raw('","secrecy":').strArray(defaults.secrecy).raw(',"integrity":').strArray(integrity).raw("}}");
    }
  }
  w.raw('],"default_labels":');
  writeLabels(w, defaults);
  w.raw(',"items_path":').str(itemsPath).raw("}");
  return emit("label_response", w, outPtr, outCap);
}
