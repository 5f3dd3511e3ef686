import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, UsageError, type CommandIo } from './io.js';

/** The template folder, next to dist/ in a clone (templates/guard/). */
const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/guard/', import.meta.url));

export const INIT_USAGE = `Usage: wasmguard init NAME [--guards-dir DIR]

Creates DIR/NAME (DIR defaults to ./guards, the sample guards' folder of a
wasmguard clone) from the AssemblyScript template: assembly/index.ts, a guard
built on DIR/lib (the ABI and JSON library of the samples), and
NAME.cases.yaml, its cases for \`wasmguard test\`. Then:

  npm run build:guards -- NAME                     # DIR/NAME.wasm (guards/build.mjs)
  npx wasmguard check guards/NAME.wasm
  npx wasmguard test guards/NAME/NAME.cases.yaml
  npm start                                        # serves it next to the samples

Options:
  --guards-dir DIR   where the guard folder goes; DIR/lib must hold the guard library
  -h, --help         this text`;

const TEMPLATE_FILES: Array<[from: string, to: (name: string) => string]> = [
  ['assembly/index.ts', () => 'assembly/index.ts'],
  ['cases.yaml', (name) => `${name}.cases.yaml`],
];

export async function runInit(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { 'guards-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout(`${INIT_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('init takes exactly one NAME');
  const name = positionals[0]!;
  // The name becomes a file name, a guard name and a label tag.
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name)) {
    throw new UsageError(`guard name ${JSON.stringify(name)} must start with a lowercase letter and hold only a-z, 0-9, - and _ (at most 63)`);
  }
  if (!existsSync(TEMPLATE_DIR)) {
    throw new UsageError(`the guard template (${TEMPLATE_DIR}) is not in this installation (the Docker image has none): run init in a wasmguard clone`);
  }
  const guardsDir = resolve((values['guards-dir'] as string | undefined) ?? 'guards');
  if (!existsSync(join(guardsDir, 'lib', 'abi.ts'))) {
    throw new UsageError(`${guardsDir}/lib/abi.ts not found: run init in a wasmguard clone, or pass --guards-dir with the guard library in DIR/lib`);
  }
  const target = join(guardsDir, name);
  if (existsSync(target)) throw new UsageError(`${target} exists already; pick another NAME or remove it`);
  for (const [from, to] of TEMPLATE_FILES) {
    const text = (await readFile(join(TEMPLATE_DIR, from), 'utf8')).replaceAll('__NAME__', name);
    const path = join(target, to(name));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text, { flag: 'wx' });
  }
  const shown = relative(process.cwd(), target) || target;
  io.stdout(
    `created ${shown}/assembly/index.ts and ${shown}/${name}.cases.yaml\n` +
      `next: npm run build:guards -- ${name} && npx wasmguard test ${shown}/${name}.cases.yaml\n`,
  );
  return 0;
}
