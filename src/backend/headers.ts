import { readFileSync } from 'node:fs';

/**
 * Resolves the configured headers of one backend. A value is used as written,
 * or read from the environment (`env:NAME`) or from a file (`file:/path`,
 * one trailing newline dropped). Problems name the backend, the header and
 * where the value was to come from, never the value itself.
 */

/** Headers the backend protocol sets itself; a configured one would break it or hide a request detail. */
const MANAGED = new Set([
  'accept',
  'accept-encoding',
  'connection',
  'content-length',
  'content-type',
  'host',
  'keep-alive',
  'last-event-id',
  'mcp-protocol-version',
  'mcp-session-id',
  'te',
  'transfer-encoding',
  'upgrade',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, Latin-1 and inner spaces/tabs; no CR, LF or NUL (header injection).
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface ResolvedHeaders {
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Every configured value (a literal one may be a token too), for redacting server text before it is logged. */
  secrets: string[];
  problems: string[];
}

export function resolveHeaders(backend: string, configured: Record<string, string> | undefined, env: NodeJS.ProcessEnv): ResolvedHeaders {
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  const problems: string[] = [];
  for (const [rawName, spec] of Object.entries(configured ?? {})) {
    const name = rawName.toLowerCase();
    const where = `backends.${backend}.headers.${rawName}`;
    if (!TOKEN.test(rawName)) {
      problems.push(`${where}: not a valid header name`);
      continue;
    }
    if (MANAGED.has(name)) {
      problems.push(`${where}: this header is set by WasmGuard itself and cannot be configured`);
      continue;
    }
    if (name in headers) {
      problems.push(`${where}: configured twice (header names are case-insensitive)`);
      continue;
    }
    let value: string;
    if (spec.startsWith('env:')) {
      const variable = spec.slice(4);
      const found = env[variable];
      if (found === undefined || found === '') {
        problems.push(`${where}: environment variable ${variable} is not set`);
        continue;
      }
      value = found;
    } else if (spec.startsWith('file:')) {
      const path = spec.slice(5);
      try {
        value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        problems.push(`${where}: cannot read file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
        continue;
      }
      if (value === '') {
        problems.push(`${where}: file ${path} is empty`);
        continue;
      }
    } else {
      value = spec;
    }
    if (!VALUE.test(value)) {
      problems.push(`${where}: the value contains a line break, NUL or other control character`);
      continue;
    }
    headers[name] = value;
    secrets.push(value);
  }
  return { headers, secrets, problems };
}

/**
 * Replaces every secret header value found in a server-provided text, so an
 * error message that echoes a request header cannot leak it into the logs.
 */
export function redactor(secrets: string[]): (text: string) => string {
  // "Bearer abc…": the token alone may be echoed too.
  const parts = secrets.flatMap((s) => [s, ...s.split(/\s+/).filter((p) => p.length >= 8)]);
  const values = [...new Set(parts)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => values.reduce((t, v) => t.split(v).join('[redacted]'), text);
}
