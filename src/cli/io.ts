import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes; tests and main pass the process's streams. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (the test command's reporter follows it). */
  isTTY: boolean;
}

/** A command line the command cannot run: exit status 2 with the message and a pointer to --help. */
export class UsageError extends Error {}

/** node:util's parseArgs, with its errors as usage errors. */
export function parseCommandArgs(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
