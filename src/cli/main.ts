#!/usr/bin/env node
/**
 * The `wasmguard` command (package.json "bin"): the server and the guard
 * authors' tools, on the service's own guard runtime.
 */
import { UsageError, type CommandIo } from './io.js';
import { MAIN_USAGE, packageVersion } from './usage.js';

const io: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
};

type Command = (argv: string[], io: CommandIo) => Promise<number | undefined>;

// Loaded on use: a command pays only for its own modules (the server's, the case files' validator, ...).
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).runServe,
  check: async () => (await import('./check.js')).runCheck,
  test: async () => (await import('./test.js')).runTest,
  init: async () => (await import('./init.js')).runInit,
};

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.stdout(`${MAIN_USAGE()}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    io.stdout(`${packageVersion()}\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) throw new UsageError(`unknown command "${command}"`);
  // serve returns undefined: the server keeps running and owns the exit code from there.
  return (await load())(rest, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`wasmguard: ${error.message}\nRun "wasmguard --help" for usage.\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`wasmguard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
