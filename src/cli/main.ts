#!/usr/bin/env node
/**
 * The `wasmguard` command (package.json "bin"): the server and the guard
 * authors' tools, on the service's own guard runtime.
 */
import { runCheck } from './check.js';
import { runInit } from './init.js';
import { UsageError, type CommandIo } from './io.js';
import { runServe } from './serve.js';
import { runTest } from './test.js';
import { MAIN_USAGE, packageVersion } from './usage.js';

const io: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
};

const COMMANDS: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  check: runCheck,
  test: runTest,
  init: runInit,
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
  // The server keeps running after this returns; it owns the exit code from here.
  if (command === 'serve') return runServe(rest, io);
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"`);
  return run(rest, io);
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
