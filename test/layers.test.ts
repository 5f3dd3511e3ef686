/**
 * The layering of src/ (docs/architecture.md, "The layers"): a module imports
 * from its own folder and from folders below it, never from one above. Every
 * import is read — static, `export … from`, `import type` and literal
 * dynamic import() — so a shortcut up the stack fails here, not in review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Lowest first; folders in one entry are on the same level and may import
 * each other. A new folder has to be placed here before it can import or be
 * imported.
 */
const ORDER: readonly (readonly string[])[] = [
  ['difc'],
  ['guard'],
  ['config'],
  ['pool'],
  ['runtime'],
  ['decision', 'session'],
  ['metrics'],
  ['backend'],
  ['batch', 'authzen'],
  ['http'],
  ['service'],
  ['server.ts', 'cli'],
];

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const MODULE = /\.(?:[cm]?ts|[cm]?js)$/;

/**
 * A file's level: the position of its folder in ORDER (files at the root of
 * src/ other than server.ts are below every folder, -1); undefined for a
 * folder with no place yet.
 */
function levelOf(file: string): number | undefined {
  const [top, ...rest] = file.split('/');
  if (rest.length === 0 && top !== 'server.ts') return -1;
  const level = ORDER.findIndex((names) => names.includes(top!));
  return level < 0 ? undefined : level;
}

const placeFirst = (file: string) => `src/${file.split('/')[0]}/ has no place in the layer order: place it in the order first`;
const levelName = (level: number) => (level < 0 ? 'src/ root' : ORDER[level]!.join(' + '));

/** Every breach of the layering in `files` (paths relative to src/, with their text), as readable lines. */
function layerViolations(files: ReadonlyMap<string, string>): string[] {
  const problems = new Set<string>();
  for (const [file, text] of files) {
    const from = levelOf(file);
    if (from === undefined) {
      problems.add(placeFirst(file));
      continue;
    }
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!spec.startsWith('.')) continue; // a package or node: built-in
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      if (target.startsWith('../')) {
        problems.add(`src/${file} imports '${spec}', outside src/`);
        continue;
      }
      const to = levelOf(target);
      if (to === undefined) problems.add(placeFirst(target));
      else if (to > from) problems.add(`src/${file} (${levelName(from)}) imports src/${target} (${levelName(to)}), a layer above it`);
    }
  }
  return [...problems].sort();
}

function sourceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !MODULE.test(entry.name)) continue;
    const path = posix.join(posix.relative(SRC, entry.parentPath), entry.name);
    files.set(path, readFileSync(`${entry.parentPath}/${entry.name}`, 'utf8'));
  }
  return files;
}

describe('layers of src/', () => {
  it('places every folder of src/ in the order', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory());
    const unplaced = folders.filter((folder) => levelOf(`${folder.name}/index.ts`) === undefined).map((f) => placeFirst(`${f.name}/`));
    expect(unplaced).toEqual([]);
  });

  it('has no import pointing to a layer above its importer', () => {
    const files = sourceFiles();
    expect(files.size).toBeGreaterThan(50);
    expect(layerViolations(files)).toEqual([]);
  });
});

describe('the layer check itself', () => {
  const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

  it('allows imports within a folder, down the stack and across one level', () => {
    expect(
      layerViolations(
        files({
          'pool/a.ts': "import { b } from './b.js';\nimport type { L } from '../difc/labels.js';",
          'session/s.ts': "import { d } from '../decision/d.js';",
          'decision/d.ts': "export { s } from '../session/s.js';",
          'cli/main.ts': "const server = await import('../server.js');",
          'server.ts': "import { run } from './cli/main.js';\nimport { v } from './version.js';",
          'version.ts': "import { readFileSync } from 'node:fs';",
        }),
      ),
    ).toEqual([]);
  });

  it('catches an upward import in each form', () => {
    const found = layerViolations(
      files({
        'pool/static.ts': "import { GuardRegistry } from '../runtime/guard-registry.js';",
        'pool/type-only.ts': "import type { Metrics } from '../metrics/metrics.js';",
        'pool/re-export.ts': "export * from '../http/app.js';",
        'pool/dynamic.ts': "const app = await import(\n  '../http/app.js'\n);",
        'difc/deep.ts': "import { route } from '../http/routes/operations.js';",
        'version.ts': "import { flow } from './difc/flow.js';",
        'service/s.ts': "import { main } from '../cli/main.js';",
      }),
    );
    expect(found).toEqual([
      'src/difc/deep.ts (difc) imports src/http/routes/operations.js (http), a layer above it',
      'src/pool/dynamic.ts (pool) imports src/http/app.js (http), a layer above it',
      'src/pool/re-export.ts (pool) imports src/http/app.js (http), a layer above it',
      'src/pool/static.ts (pool) imports src/runtime/guard-registry.js (runtime), a layer above it',
      'src/pool/type-only.ts (pool) imports src/metrics/metrics.js (metrics), a layer above it',
      'src/service/s.ts (service) imports src/cli/main.js (server.ts + cli), a layer above it',
      'src/version.ts (src/ root) imports src/difc/flow.js (difc), a layer above it',
    ]);
  });

  it('refuses a folder with no place in the order, as importer or as target, and an import out of src/', () => {
    expect(
      layerViolations(
        files({
          'widgets/w.ts': "import { f } from '../difc/flow.js';",
          'http/h.ts': "import { g } from '../gadgets/g.js';\nimport { t } from '../../test/support/fixtures.js';",
        }),
      ),
    ).toEqual([
      'src/gadgets/ has no place in the layer order: place it in the order first',
      "src/http/h.ts imports '../../test/support/fixtures.js', outside src/",
      'src/widgets/ has no place in the layer order: place it in the order first',
    ]);
  });

  it('ignores what only looks like an import: comments and strings', () => {
    expect(layerViolations(files({ 'difc/x.ts': "// import { a } from '../http/app.js';\nconst s = \"from '../http/app.js'\";" }))).toEqual([]);
  });
});
