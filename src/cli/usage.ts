import { readFileSync } from 'node:fs';
import { GUARD_WIDE_DEFAULTS, SERVER_DEFAULTS, SETTINGS, type Setting } from '../config/settings.js';

/** package.json's version: the CLI ships next to it (dist/cli/ in a clone and in the image). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultOf(setting: Setting): string {
  const { target } = setting;
  if ('server' in target) return String(SERVER_DEFAULTS[target.server]);
  if ('guardDefault' in target) return target.guardDefault === 'poolSize' ? 'available cores' : String(GUARD_WIDE_DEFAULTS[target.guardDefault]);
  return target.top === 'guardsDir' ? 'the bundled guards/ when no config names a guard' : 'none';
}

/** Every setting of the server with its flag, variable, help text and default (src/config/settings.ts). */
export function settingsHelp(): string {
  const rows = SETTINGS.map((s) => [`--${s.flag} ${s.kind === 'boolean' ? 'true|false' : s.kind === 'integer' ? 'N' : 'VALUE'}`, s.env, `${s.help} (default: ${defaultOf(s)})`]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  const envWidth = Math.max(...rows.map((r) => r[1]!.length));
  return rows.map(([flag, env, help]) => `  ${flag!.padEnd(width)}  ${env!.padEnd(envWidth)}  ${help}`).join('\n');
}

export const SERVE_USAGE = () => `Usage: wasmguard serve [settings]

Starts the decision service, exactly as \`node dist/server.js\` (the image's
command) does. Each setting is a flag or an environment variable; the flag wins,
then the environment, then the config file, then the default.

Settings:
${settingsHelp()}`;

export const MAIN_USAGE = () => `Usage: wasmguard <command> [options]

Commands:
  serve [settings]          start the decision service (what \`npm start\` runs)
  check GUARD.wasm...       validate guards as the service loads them and call each label function once
  test CASES...             run case files (YAML or JSON) through the decision pipeline
  init NAME                 create guards/NAME from the AssemblyScript template

Options:
  -h, --help                this text; \`wasmguard <command> --help\` for a command's options
  -v, --version             print the version (${packageVersion()})

Settings of \`wasmguard serve\` (flag, environment variable, meaning):
${settingsHelp()}`;
