/**
 * A small Go text/template renderer with the Helm/Sprig functions this chart
 * uses, so the tests can render helm/wasmguard without a helm binary.
 *
 * It implements the subset honestly rather than leniently:
 * - whitespace trim markers `{{-` / `-}}`, comments, `define`, `template`,
 *   `include`, `if`/`else if`/`else`, `with`/`else`, `range` (lists and maps,
 *   maps in key order, with `$i, $v :=`), variables (`:=`, `=`, `$`), pipelines
 *   with `|`, parenthesised pipelines;
 * - Go's data model where it matters for Helm charts: values read from YAML are
 *   float64 (printing 1000000 gives `1e+06`, as Helm does), Sprig arithmetic and
 *   `int` give int64 (modelled as bigint), `eq` refuses to compare an int with a
 *   float or with nil, reading a field of a nil value is an error ("nil
 *   pointer evaluating"), a missing map key is nil and prints as nothing;
 * - an unknown function is an error, so the chart cannot silently depend on
 *   something this renderer does not model.
 *
 * Not implemented (and rejected at parse or run time): `block`, `break`,
 * `continue`, method calls, character constants, complex numbers.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

// ---------------------------------------------------------------------------
// Values

/** A Go struct (e.g. `.Chart`, `.Release`): unknown fields are an error. */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: Record<string, unknown>,
  ) {}
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

type Scope = { name: string; value: unknown }[];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoStruct);
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'slice';
  if (v instanceof GoStruct) return 'struct';
  return 'map';
}

/** Go's `truth`: false, 0, nil, "" and empty collections are false. */
export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof GoStruct) return true;
  return Object.keys(v as object).length > 0;
}

/** strconv.FormatFloat(f, 'g', -1, 64), which is what fmt's %v prints. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expStr] = f.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = neg ? '-' : '';
  // Shortest formatting switches to %e when exp < -4 || exp >= 6 (eprec = 6).
  if (exp < -4 || exp >= 6) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  // %f form with the shortest digits
  if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${intPart}${frac ? `.${frac}` : ''}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** fmt.Sprint(v) for the kinds a chart handles. */
export function goPrint(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatGoFloat(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (v instanceof GoStruct) return `{${Object.values(v.fields).map(goPrint).join(' ')}}`;
  const m = v as Record<string, unknown>;
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${goPrint(m[k])}`)
    .join(' ')}]`;
}

/** Go's %q for a string (close enough to strconv.Quote for printable text). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\x7f');
}

function toInt64(v: unknown): bigint {
  // cast.ToInt64 as used by Sprig: floats truncate, strings parse, junk is 0.
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+$/.test(t)) return BigInt(t);
    return 0n;
  }
  return 0n;
}

function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof GoStruct) return toJsonValue(v.fields);
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
    return out;
  }
  return v ?? null;
}

/** Helm's toYaml: sigs.k8s.io/yaml (keys sorted), trailing newline removed. */
export function toYaml(v: unknown): string {
  const s = stringify(toJsonValue(v), {
    sortMapEntries: true,
    indentSeq: false,
    lineWidth: 0,
    minContentWidth: 0,
  });
  return s.replace(/\n$/, '');
}

function goEq(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) {
    throw new TemplateError(`error calling eq: incompatible types for comparison (${ka} and ${kb})`);
  }
  if (ka === 'slice' || ka === 'map' || ka === 'struct') {
    throw new TemplateError(`error calling eq: non-comparable type ${ka}`);
  }
  if (ka === 'nil') {
    throw new TemplateError('error calling eq: invalid type for comparison');
  }
  return a === b;
}

function sprigEmpty(v: unknown): boolean {
  return !truth(v);
}

// ---------------------------------------------------------------------------
// Lexing: split the source into text and actions, applying trim markers.

type Piece =
  | { kind: 'text'; text: string }
  | { kind: 'action'; src: string; line: number };

function lex(src: string, file: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNextText = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open === -1 ? src.slice(i) : src.slice(i, open);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
    trimNextText = false;
    if (open === -1) {
      if (text) pieces.push({ kind: 'text', text });
      break;
    }
    let j = open + 2;
    const trimLeft = src[j] === '-' && /[ \t\r\n]/.test(src[j + 1] ?? '');
    if (trimLeft) {
      text = text.replace(/[ \t\r\n]+$/, '');
      j += 2;
    }
    if (text) pieces.push({ kind: 'text', text });
    // Find the closing delimiter outside string literals.
    let k = j;
    let close = -1;
    while (k < src.length) {
      const c = src[k];
      if (c === '"') {
        k++;
        while (k < src.length && src[k] !== '"') {
          if (src[k] === '\\') k++;
          if (src[k] === '\n') throw new TemplateError(`${file}: unterminated quoted string`);
          k++;
        }
        k++;
        continue;
      }
      if (c === '`') {
        const end = src.indexOf('`', k + 1);
        if (end === -1) throw new TemplateError(`${file}: unterminated raw string`);
        k = end + 1;
        continue;
      }
      if (c === '/' && src[k + 1] === '*') {
        const end = src.indexOf('*/', k + 2);
        if (end === -1) throw new TemplateError(`${file}: unclosed comment`);
        k = end + 2;
        continue;
      }
      if (src.startsWith(' -}}', k) || src.startsWith('\t-}}', k) || src.startsWith('\n-}}', k)) {
        close = k;
        trimNextText = true;
        break;
      }
      if (src.startsWith('}}', k)) {
        close = k;
        break;
      }
      k++;
    }
    if (close === -1) throw new TemplateError(`${file}: unclosed action`);
    const line = src.slice(0, open).split('\n').length;
    const body = src.slice(j, close);
    pieces.push({ kind: 'action', src: body, line });
    i = close + (trimNextText ? 4 : 2);
  }
  return pieces;
}

// ---------------------------------------------------------------------------
// Tokens and expressions inside an action

type Token =
  | { t: 'field'; chain: string[] } // .a.b  (chain [] for ".")
  | { t: 'var'; name: string; chain: string[] } // $x.a ; name "$" for root
  | { t: 'string'; value: string }
  | { t: 'number'; value: number | bigint }
  | { t: 'ident'; name: string }
  | { t: 'punct'; value: '(' | ')' | '|' | ':=' | '=' | ',' }
  | { t: 'chain'; chain: string[] }; // .a.b directly after ')'

function tokenize(s: string, where: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const chainAt = (start: number): [string[], number] => {
    const chain: string[] = [];
    let p = start;
    while (s[p] === '.' && /[A-Za-z_]/.test(s[p + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(p + 1));
      chain.push(m![0]);
      p += 1 + m![0].length;
    }
    return [chain, p];
  };
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ t: 'punct', value: c });
      i++;
      if (c === ')' && s[i] === '.') {
        const [chain, p] = chainAt(i);
        if (chain.length) {
          out.push({ t: 'chain', chain });
          i = p;
        }
      }
      continue;
    }
    if (s.startsWith(':=', i)) {
      out.push({ t: 'punct', value: ':=' });
      i += 2;
      continue;
    }
    if (c === '=') {
      out.push({ t: 'punct', value: '=' });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      out.push({ t: 'string', value: JSON.parse(s.slice(i, j + 1)) as string });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      out.push({ t: 'string', value: s.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '.') {
      const [chain, p] = chainAt(i);
      if (chain.length === 0) {
        if (/[A-Za-z0-9_]/.test(s[i + 1] ?? '')) throw new TemplateError(`${where}: bad field syntax`);
        out.push({ t: 'field', chain: [] });
        i++;
      } else {
        out.push({ t: 'field', chain });
        i = p;
      }
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(s.slice(i))!;
      const [chain, p] = chainAt(i + m[0].length);
      out.push({ t: 'var', name: m[0], chain });
      i = p;
      continue;
    }
    const num = /^[+-]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/.exec(
      s.slice(i),
    );
    if (num && (c !== '+' && c !== '-' ? true : /\d|\./.test(s[i + 1] ?? ''))) {
      const lit = num[0].replace(/_/g, '');
      const isFloat = /[.eE]/.test(lit) && !/^[+-]?0[xX]/.test(lit);
      // Go: an integer constant is an int; anything else a float64.
      out.push({ t: 'number', value: isFloat ? Number(lit) : BigInt(lit) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (id) {
      out.push({ t: 'ident', name: id[0] });
      i += id[0].length;
      continue;
    }
    if (c === "'") throw new TemplateError(`${where}: character constants are not supported`);
    throw new TemplateError(`${where}: unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

type Arg =
  | { k: 'field'; chain: string[] }
  | { k: 'var'; name: string; chain: string[] }
  | { k: 'lit'; value: unknown }
  | { k: 'ident'; name: string }
  | { k: 'pipe'; pipe: Pipeline; chain: string[] };

type Command = { args: Arg[] };
type Pipeline = { decl?: { names: string[]; op: ':=' | '=' }; cmds: Command[] };

function parsePipeline(tokens: Token[], where: string, allowDecl: boolean): Pipeline {
  let pos = 0;
  const pipe: Pipeline = { cmds: [] };
  // Declaration: $x := ... | $i, $v := ... | $x = ...
  if (allowDecl && tokens[0]?.t === 'var' && tokens[0].chain.length === 0) {
    const names: string[] = [tokens[0].name];
    let p = 1;
    if (tokens[1]?.t === 'punct' && tokens[1].value === ',' && tokens[2]?.t === 'var') {
      names.push(tokens[2].name);
      p = 3;
    }
    const op = tokens[p];
    if (op?.t === 'punct' && (op.value === ':=' || op.value === '=')) {
      pipe.decl = { names, op: op.value };
      pos = p + 1;
    }
  }
  const parseArgs = (end: (tok: Token | undefined) => boolean): Pipeline => {
    const cmds: Command[] = [];
    let cur: Arg[] = [];
    while (!end(tokens[pos])) {
      const tok = tokens[pos];
      if (!tok) throw new TemplateError(`${where}: unexpected end of pipeline`);
      pos++;
      switch (tok.t) {
        case 'field':
          cur.push({ k: 'field', chain: tok.chain });
          break;
        case 'var':
          cur.push({ k: 'var', name: tok.name, chain: tok.chain });
          break;
        case 'string':
          cur.push({ k: 'lit', value: tok.value });
          break;
        case 'number':
          cur.push({ k: 'lit', value: tok.value });
          break;
        case 'ident':
          if (tok.name === 'true' || tok.name === 'false') cur.push({ k: 'lit', value: tok.name === 'true' });
          else if (tok.name === 'nil') cur.push({ k: 'lit', value: null });
          else cur.push({ k: 'ident', name: tok.name });
          break;
        case 'chain':
          throw new TemplateError(`${where}: unexpected field chain`);
        case 'punct':
          if (tok.value === '(') {
            const inner = parseArgs((t) => t?.t === 'punct' && t.value === ')');
            pos++; // ')'
            let chain: string[] = [];
            const next = tokens[pos];
            if (next?.t === 'chain') {
              chain = next.chain;
              pos++;
            }
            cur.push({ k: 'pipe', pipe: inner, chain });
          } else if (tok.value === '|') {
            if (cur.length === 0) throw new TemplateError(`${where}: missing command before |`);
            cmds.push({ args: cur });
            cur = [];
          } else {
            throw new TemplateError(`${where}: unexpected ${tok.value}`);
          }
          break;
      }
    }
    if (cur.length === 0) throw new TemplateError(`${where}: missing command`);
    cmds.push({ args: cur });
    return { cmds };
  };
  pipe.cmds = parseArgs((t) => t === undefined).cmds;
  return pipe;
}

// ---------------------------------------------------------------------------
// Template tree

type Node =
  | { n: 'text'; text: string }
  | { n: 'action'; pipe: Pipeline; where: string }
  | { n: 'if' | 'with'; branches: { pipe: Pipeline; body: Node[] }[]; elseBody: Node[] | null; where: string }
  | { n: 'range'; pipe: Pipeline; body: Node[]; elseBody: Node[] | null; where: string }
  | { n: 'template'; name: string; pipe: Pipeline | null; where: string };

type Defines = Map<string, Node[]>;

function parseTemplate(src: string, file: string, defines: Defines): Node[] {
  const pieces = lex(src, file);
  let pos = 0;

  type Stop = { word: 'end' | 'else'; rest: string; where: string };

  const parseList = (stopAllowed: boolean): [Node[], Stop | null] => {
    const nodes: Node[] = [];
    while (pos < pieces.length) {
      const p = pieces[pos++]!;
      if (p.kind === 'text') {
        nodes.push({ n: 'text', text: p.text });
        continue;
      }
      const where = `${file}:${p.line}`;
      const body = p.src.trim();
      if (body.startsWith('/*')) {
        if (!body.endsWith('*/')) throw new TemplateError(`${where}: comment must fill the action`);
        continue;
      }
      const m = /^([a-z]+)\b\s*([\s\S]*)$/.exec(body);
      const word = m?.[1];
      const rest = m?.[2] ?? '';
      if (word === 'end' || word === 'else') {
        if (!stopAllowed) throw new TemplateError(`${where}: unexpected {{${word}}}`);
        return [nodes, { word, rest, where }];
      }
      if (word === 'if' || word === 'with') {
        const branches: { pipe: Pipeline; body: Node[] }[] = [];
        let cond = rest;
        let elseBody: Node[] | null = null;
        for (;;) {
          const pipe = parsePipeline(tokenize(cond, where), where, true);
          const [b, stop] = parseList(true);
          if (!stop) throw new TemplateError(`${where}: missing {{end}} for ${word}`);
          branches.push({ pipe, body: b });
          if (stop.word === 'end') break;
          const chained = new RegExp(`^${word}\\b\\s*([\\s\\S]*)$`).exec(stop.rest);
          if (chained) {
            cond = chained[1]!;
            continue;
          }
          if (stop.rest) throw new TemplateError(`${stop.where}: unsupported else form`);
          const [eb, stop2] = parseList(true);
          if (stop2?.word !== 'end') throw new TemplateError(`${where}: missing {{end}} after else`);
          elseBody = eb;
          break;
        }
        nodes.push({ n: word, branches, elseBody, where });
        continue;
      }
      if (word === 'range') {
        const pipe = parsePipeline(tokenize(rest, where), where, true);
        const [b, stop] = parseList(true);
        if (!stop) throw new TemplateError(`${where}: missing {{end}} for range`);
        let elseBody: Node[] | null = null;
        if (stop.word === 'else') {
          const [eb, stop2] = parseList(true);
          if (stop2?.word !== 'end') throw new TemplateError(`${where}: missing {{end}} after else`);
          elseBody = eb;
        }
        nodes.push({ n: 'range', pipe, body: b, elseBody, where });
        continue;
      }
      if (word === 'define') {
        const toks = tokenize(rest, where);
        const name = toks[0];
        if (toks.length !== 1 || name?.t !== 'string') throw new TemplateError(`${where}: bad define`);
        const [b, stop] = parseList(true);
        if (stop?.word !== 'end') throw new TemplateError(`${where}: missing {{end}} for define`);
        defines.set(name.value, b);
        continue;
      }
      if (word === 'template') {
        const toks = tokenize(rest, where);
        const name = toks[0];
        if (name?.t !== 'string') throw new TemplateError(`${where}: bad template call`);
        const pipe = toks.length > 1 ? parsePipeline(toks.slice(1), where, false) : null;
        nodes.push({ n: 'template', name: name.value, pipe, where });
        continue;
      }
      if (word === 'block' || word === 'break' || word === 'continue') {
        throw new TemplateError(`${where}: {{${word}}} is not supported by this renderer`);
      }
      nodes.push({ n: 'action', pipe: parsePipeline(tokenize(body, where), where, true), where });
    }
    return [nodes, null];
  };

  const [nodes, stop] = parseList(false);
  if (stop) throw new TemplateError(`${stop.where}: unexpected {{${stop.word}}}`);
  return nodes;
}

// ---------------------------------------------------------------------------
// Execution

type Ctx = { dot: unknown; root: unknown; vars: Scope; where: string };

export class Renderer {
  readonly defines: Defines = new Map();
  private readonly files = new Map<string, Node[]>();
  private depth = 0;

  /** Parse a file; its defines become visible to every file. */
  addFile(name: string, src: string): void {
    this.files.set(name, parseTemplate(src, name, this.defines));
  }

  render(name: string, data: unknown): string {
    const nodes = this.files.get(name);
    if (!nodes) throw new TemplateError(`no template file ${name}`);
    const out = this.exec(nodes, { dot: data, root: data, vars: [{ name: '$', value: data }], where: name });
    // Helm replaces the text of printed nil values.
    return out.replaceAll('<no value>', '');
  }

  private exec(nodes: Node[], ctx: Ctx): string {
    let out = '';
    for (const node of nodes) {
      switch (node.n) {
        case 'text':
          out += node.text;
          break;
        case 'action': {
          const c = { ...ctx, where: node.where };
          const v = this.evalPipeline(node.pipe, c);
          if (!node.pipe.decl) out += goPrint(v);
          break;
        }
        case 'if':
        case 'with': {
          const mark = ctx.vars.length;
          let done = false;
          for (const br of node.branches) {
            const v = this.evalPipeline(br.pipe, { ...ctx, where: node.where });
            if (truth(v)) {
              out += this.exec(br.body, node.n === 'with' ? { ...ctx, dot: v } : ctx);
              done = true;
              break;
            }
          }
          if (!done && node.elseBody) out += this.exec(node.elseBody, ctx);
          ctx.vars.length = mark;
          break;
        }
        case 'range': {
          const mark = ctx.vars.length;
          const pipe = node.pipe;
          const decl = pipe.decl;
          const v = this.evalPipeline({ cmds: pipe.cmds }, { ...ctx, where: node.where });
          let entries: [unknown, unknown][];
          if (v === null || v === undefined) entries = [];
          else if (Array.isArray(v)) entries = v.map((x, i) => [BigInt(i), x]);
          else if (isMap(v))
            entries = Object.keys(v)
              .sort()
              .map((k) => [k, v[k]]);
          else throw new TemplateError(`${node.where}: range can't iterate over ${goPrint(v)}`);
          if (entries.length === 0) {
            if (node.elseBody) out += this.exec(node.elseBody, ctx);
          } else {
            for (const [key, val] of entries) {
              const inner = ctx.vars.length;
              if (decl) {
                if (decl.names.length === 2) {
                  ctx.vars.push({ name: decl.names[0]!, value: key }, { name: decl.names[1]!, value: val });
                } else {
                  ctx.vars.push({ name: decl.names[0]!, value: val });
                }
              }
              out += this.exec(node.body, { ...ctx, dot: val });
              ctx.vars.length = inner;
            }
          }
          ctx.vars.length = mark;
          break;
        }
        case 'template': {
          const data = node.pipe ? this.evalPipeline(node.pipe, { ...ctx, where: node.where }) : null;
          out += this.callDefine(node.name, data, node.where);
          break;
        }
      }
    }
    return out;
  }

  private callDefine(name: string, data: unknown, where: string): string {
    const body = this.defines.get(name);
    if (!body) throw new TemplateError(`${where}: no template "${name}" associated with template`);
    if (++this.depth > 100) throw new TemplateError(`${where}: include recursion too deep`);
    try {
      return this.exec(body, { dot: data, root: data, vars: [{ name: '$', value: data }], where });
    } finally {
      this.depth--;
    }
  }

  private evalPipeline(pipe: Pipeline, ctx: Ctx): unknown {
    let value: unknown;
    let first = true;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(cmd, ctx, first ? undefined : { v: value });
      first = false;
    }
    if (pipe.decl) {
      if (pipe.decl.names.length !== 1) throw new TemplateError(`${ctx.where}: too many declarations`);
      const name = pipe.decl.names[0]!;
      if (pipe.decl.op === ':=') {
        ctx.vars.push({ name, value });
      } else {
        const slot = [...ctx.vars].reverse().find((x) => x.name === name);
        if (!slot) throw new TemplateError(`${ctx.where}: undefined variable: ${name}`);
        slot.value = value;
      }
    }
    return value;
  }

  private field(v: unknown, chain: string[], ctx: Ctx, label: string): unknown {
    let cur = v;
    for (const f of chain) {
      if (cur === null || cur === undefined) {
        throw new TemplateError(`${ctx.where}: nil pointer evaluating interface {}.${f} (in ${label})`);
      }
      if (cur instanceof GoStruct) {
        if (!(f in cur.fields)) {
          throw new TemplateError(`${ctx.where}: can't evaluate field ${f} in type ${cur.typeName}`);
        }
        cur = cur.fields[f];
      } else if (isMap(cur)) {
        cur = Object.prototype.hasOwnProperty.call(cur, f) ? cur[f] : null;
      } else {
        throw new TemplateError(`${ctx.where}: can't evaluate field ${f} in type ${kindOf(cur)}`);
      }
    }
    return cur ?? null;
  }

  private evalArg(a: Arg, ctx: Ctx): unknown {
    switch (a.k) {
      case 'lit':
        return a.value;
      case 'field':
        return this.field(ctx.dot, a.chain, ctx, `.${a.chain.join('.')}`);
      case 'var': {
        const slot = [...ctx.vars].reverse().find((x) => x.name === a.name);
        if (!slot) throw new TemplateError(`${ctx.where}: undefined variable: ${a.name}`);
        return this.field(slot.value, a.chain, ctx, `${a.name}.${a.chain.join('.')}`);
      }
      case 'pipe':
        return this.field(this.evalPipeline(a.pipe, ctx), a.chain, ctx, '(...)');
      case 'ident':
        // A function used as an argument without parentheses takes no args.
        return this.call(a.name, [], ctx);
    }
  }

  private evalCommand(cmd: Command, ctx: Ctx, piped: { v: unknown } | undefined): unknown {
    const [head, ...rest] = cmd.args;
    if (head?.k === 'ident') {
      const name = head.name;
      if (name === 'and' || name === 'or') {
        // Short-circuit, returning the deciding operand (Go 1.18+).
        const thunks: (() => unknown)[] = rest.map((a) => () => this.evalArg(a, ctx));
        if (piped) thunks.push(() => piped.v);
        if (thunks.length === 0) throw new TemplateError(`${ctx.where}: wrong number of args for ${name}`);
        let v: unknown;
        for (const t of thunks) {
          v = t();
          if (name === 'and' ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      const args = rest.map((a) => this.evalArg(a, ctx));
      if (piped) args.push(piped.v);
      return this.call(name, args, ctx);
    }
    if (rest.length > 0 || piped) {
      throw new TemplateError(`${ctx.where}: can't give argument to non-function`);
    }
    return this.evalArg(head!, ctx);
  }

  private call(name: string, args: unknown[], ctx: Ctx): unknown {
    const need = (n: number) => {
      if (args.length !== n) throw new TemplateError(`${ctx.where}: wrong number of args for ${name}: want ${n} got ${args.length}`);
    };
    const str = (v: unknown) => (typeof v === 'string' ? v : goPrint(v));
    switch (name) {
      case 'include': {
        need(2);
        if (typeof args[0] !== 'string') throw new TemplateError(`${ctx.where}: include name must be a string`);
        return this.callDefine(args[0], args[1], ctx.where);
      }
      case 'toYaml':
        need(1);
        return toYaml(args[0]);
      case 'toJson':
        need(1);
        return JSON.stringify(toJsonValue(args[0]));
      case 'indent':
      case 'nindent': {
        need(2);
        const pad = ' '.repeat(Number(toInt64(args[0])));
        const s = pad + str(args[1]).replaceAll('\n', `\n${pad}`);
        return name === 'nindent' ? `\n${s}` : s;
      }
      case 'quote':
        return args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => goQuote(str(a)))
          .join(' ');
      case 'squote':
        return args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => `'${str(a)}'`)
          .join(' ');
      case 'default':
        if (args.length < 1 || args.length > 2) throw new TemplateError(`${ctx.where}: wrong number of args for default`);
        return args.length === 1 || sprigEmpty(args[1]) ? args[0] : args[1];
      case 'empty':
        need(1);
        return sprigEmpty(args[0]);
      case 'required':
        need(2);
        if (args[1] === null || args[1] === undefined || args[1] === '') {
          throw new TemplateError(`${ctx.where}: execution error: ${str(args[0])}`);
        }
        return args[1];
      case 'fail':
        need(1);
        throw new TemplateError(`${ctx.where}: execution error: ${str(args[0])}`);
      case 'trunc': {
        need(2);
        const n = Number(toInt64(args[0]));
        const s = str(args[1]);
        if (n < 0 && -n < s.length) return s.slice(s.length + n);
        return n >= 0 && s.length > n ? s.slice(0, n) : s;
      }
      case 'trimSuffix': {
        need(2);
        const suf = str(args[0]);
        const s = str(args[1]);
        return suf && s.endsWith(suf) ? s.slice(0, -suf.length) : s;
      }
      case 'trimPrefix': {
        need(2);
        const pre = str(args[0]);
        const s = str(args[1]);
        return pre && s.startsWith(pre) ? s.slice(pre.length) : s;
      }
      case 'merge': {
        // sprig's merge: the first map wins, later maps fill in missing keys (deeply); the first map is modified.
        const [dst, ...srcs] = args;
        if (!isMap(dst) || !srcs.every(isMap)) throw new TemplateError(`${ctx.where}: merge needs maps`);
        const fill = (d: Record<string, unknown>, src: Record<string, unknown>) => {
          for (const [k, v] of Object.entries(src)) {
            if (isMap(d[k]) && isMap(v)) fill(d[k] as Record<string, unknown>, v);
            else if (d[k] === undefined || d[k] === null) d[k] = v;
          }
        };
        for (const src of srcs) fill(dst, src as Record<string, unknown>);
        return dst;
      }
      case 'replace':
        need(3);
        return str(args[2]).replaceAll(str(args[0]), str(args[1]));
      case 'contains':
        need(2);
        return str(args[1]).includes(str(args[0]));
      case 'hasPrefix':
        need(2);
        return str(args[1]).startsWith(str(args[0]));
      case 'toString':
        need(1);
        return str(args[0]);
      case 'printf':
        if (args.length < 1) throw new TemplateError(`${ctx.where}: printf needs a format`);
        return goSprintf(str(args[0]), args.slice(1), ctx.where);
      case 'print':
        return args.map(str).join('');
      case 'int':
      case 'int64':
        need(1);
        return toInt64(args[0]);
      case 'add':
        return args.reduce<bigint>((a, b) => a + toInt64(b), 0n);
      case 'mul':
        return args.reduce<bigint>((a, b) => a * toInt64(b), 1n);
      case 'sub':
        need(2);
        return toInt64(args[0]) - toInt64(args[1]);
      case 'div': {
        need(2);
        const d = toInt64(args[1]);
        if (d === 0n) throw new TemplateError(`${ctx.where}: error calling div: integer divide by zero`);
        return toInt64(args[0]) / d;
      }
      case 'max':
        return args.map(toInt64).reduce((a, b) => (b > a ? b : a));
      case 'eq':
        if (args.length < 2) throw new TemplateError(`${ctx.where}: missing argument for comparison`);
        return args.slice(1).some((b) => goEq(args[0], b));
      case 'ne':
        need(2);
        return !goEq(args[0], args[1]);
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge': {
        need(2);
        const [a, b] = args;
        const ka = kindOf(a);
        if (ka !== kindOf(b) || !['int', 'float', 'string'].includes(ka)) {
          throw new TemplateError(`${ctx.where}: error calling ${name}: incompatible types for comparison (${ka} and ${kindOf(b)})`);
        }
        const x = a as number | bigint | string;
        const y = b as number | bigint | string;
        return name === 'lt' ? x < y : name === 'le' ? x <= y : name === 'gt' ? x > y : x >= y;
      }
      case 'not':
        need(1);
        return !truth(args[0]);
      case 'dict': {
        if (args.length % 2 !== 0) throw new TemplateError(`${ctx.where}: dict needs key/value pairs`);
        const m: Record<string, unknown> = {};
        for (let i = 0; i < args.length; i += 2) m[str(args[i])] = args[i + 1];
        return m;
      }
      case 'list':
        return [...args];
      case 'omit': {
        const [m, ...keys] = args;
        if (!isMap(m)) throw new TemplateError(`${ctx.where}: omit needs a map`);
        const drop = new Set(keys.map(str));
        return Object.fromEntries(Object.entries(m).filter(([k]) => !drop.has(k)));
      }
      case 'hasKey':
        need(2);
        return isMap(args[0]) && Object.prototype.hasOwnProperty.call(args[0], str(args[1]));
      case 'kindIs': {
        need(2);
        const goKind: Record<string, string> = {
          nil: 'invalid',
          int: 'int64',
          float: 'float64',
          string: 'string',
          bool: 'bool',
          slice: 'slice',
          map: 'map',
          struct: 'struct',
        };
        return goKind[kindOf(args[1])] === str(args[0]);
      }
      case 'sha256sum':
        need(1);
        return createHash('sha256').update(str(args[0])).digest('hex');
      case 'b64enc':
        need(1);
        return Buffer.from(str(args[0])).toString('base64');
      default:
        throw new TemplateError(`${ctx.where}: function "${name}" not defined (not modelled by this renderer)`);
    }
  }
}

function goSprintf(format: string, args: unknown[], where: string): string {
  let i = 0;
  return format.replace(/%([-+# 0]*\d*(?:\.\d+)?)?([%sdvqt])/g, (all, flags: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (flags) throw new TemplateError(`${where}: printf flags (${all}) are not modelled`);
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    switch (verb) {
      case 's':
      case 'v':
      case 't':
        return typeof a === 'string' ? a : goPrint(a);
      case 'q':
        return goQuote(typeof a === 'string' ? a : goPrint(a));
      case 'd':
        if (typeof a !== 'bigint') {
          throw new TemplateError(`${where}: printf %d of a ${kindOf(a)} prints %!d(${kindOf(a)}=...) in Go; convert with int first`);
        }
        return a.toString();
      default:
        return all;
    }
  });
}
