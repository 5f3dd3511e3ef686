/**
 * Just enough Dockerfile and .dockerignore semantics for the deployment tests:
 * instructions (with line continuations, comments and the `# syntax=`
 * directive), stages, flags, exec/shell forms, and the build-context filter
 * that BuildKit applies (moby/patternmatcher rules: patterns in order, the
 * last match wins, a pattern matching a parent directory matches its
 * contents, `!` re-includes, `*` and `?` stay within one path segment, `**`
 * spans any number of segments).
 */

export type Instruction = {
  keyword: string; // upper-cased
  args: string; // raw argument text, continuations joined
  flags: Record<string, string>; // --from=build etc. (COPY/ADD/RUN/HEALTHCHECK/FROM)
  rest: string; // args with leading flags removed
  line: number;
};

export type Stage = {
  index: number;
  image: string;
  name: string | undefined;
  instructions: Instruction[];
};

export function parseDockerfile(text: string): { instructions: Instruction[]; stages: Stage[] } {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  let buf = '';
  let startLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (!buf && (trimmed === '' || trimmed.startsWith('#'))) continue;
    if (buf && trimmed.startsWith('#')) continue; // comment lines inside a continuation
    if (!buf) startLine = i + 1;
    if (trimmed.endsWith('\\')) {
      buf += `${trimmed.slice(0, -1)} `;
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(buf)!;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    const flags: Record<string, string> = {};
    let rest = args;
    for (;;) {
      const f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
      if (!f) break;
      flags[f[1]!] = f[2] ?? 'true';
      rest = rest.slice(f[0].length);
    }
    instructions.push({ keyword, args, flags, rest, line: startLine });
    buf = '';
  }
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.rest);
      if (!m) throw new Error(`line ${ins.line}: bad FROM ${ins.args}`);
      stages.push({ index: stages.length, image: m[1]!, name: m[2]?.toLowerCase(), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { instructions, stages };
}

/** Exec form (JSON array) or shell form of CMD/ENTRYPOINT/RUN/HEALTHCHECK CMD. */
export function commandOf(rest: string): { exec: boolean; argv: string[] } {
  const t = rest.trim();
  if (t.startsWith('[')) {
    const argv = JSON.parse(t) as unknown;
    if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`bad exec form ${t}`);
    return { exec: true, argv: argv as string[] };
  }
  return { exec: false, argv: ['/bin/sh', '-c', t] };
}

/** COPY/ADD sources and destination (exec or space-separated form). */
export function copyPaths(ins: Instruction): { sources: string[]; dest: string } {
  const parts = ins.rest.trim().startsWith('[') ? (JSON.parse(ins.rest) as string[]) : ins.rest.split(/\s+/);
  if (parts.length < 2) throw new Error(`line ${ins.line}: COPY needs a source and a destination`);
  return { sources: parts.slice(0, -1), dest: parts[parts.length - 1]! };
}

/** ENV key=value pairs (the `ENV key value` legacy form too). */
export function envOf(ins: Instruction): Record<string, string> {
  const out: Record<string, string> = {};
  const s = ins.rest.trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(s)) {
    const [k, ...v] = s.split(' ');
    out[k!] = v.join(' ');
    return out;
  }
  for (const m of s.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}

type Rule = { re: RegExp; exclude: boolean; pattern: string };

function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export class DockerIgnore {
  readonly rules: Rule[];

  constructor(text: string) {
    this.rules = [];
    for (const raw of text.split('\n')) {
      let p = raw.trim();
      if (!p || p.startsWith('#')) continue;
      let exclude = true;
      if (p.startsWith('!')) {
        exclude = false;
        p = p.slice(1).trim();
      }
      // filepath.Clean, leading "/" and "./" dropped
      p = p.replace(/^\/+/, '').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      if (!p) continue;
      this.rules.push({ re: patternToRegExp(p), exclude, pattern: raw.trim() });
    }
  }

  /** Is this path (relative to the context root, "/"-separated) left out of the context? */
  excluded(path: string): boolean {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of this.rules) {
      if (candidates.some((c) => r.re.test(c))) excluded = r.exclude;
    }
    return excluded;
  }
}
