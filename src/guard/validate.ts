import { GuardLoadError, GUARD_FUNCTIONS } from './errors.js';
import { formatFuncType, type FuncType, type ModuleInfo } from './wasm-binary.js';

/** What the host needs to know about a validated guard to run it. */
export interface GuardShape {
  /** alloc/dealloc exported: buffers go through the guard's allocator. */
  hasAllocator: boolean;
  hasInitialize: boolean;
  /** The wasi_snapshot_preview1 functions the module imports (the host builds only these; none: no WASI at all). */
  wasiImports: string[];
  usesBackend: boolean;
  usesLog: boolean;
  exports: string[];
}

/**
 * Stable names of the ways a module can miss the guard ABI. `wasmguard check`
 * prints them (README, "wasmguard check"), so they never change meaning.
 */
export type AbiProblemCode =
  | 'WG_CHECK_COMMAND_MODULE'
  | 'WG_CHECK_MISSING_EXPORT'
  | 'WG_CHECK_EXPORT_SIGNATURE'
  | 'WG_CHECK_MISSING_MEMORY'
  | 'WG_CHECK_ALLOC_PAIR'
  | 'WG_CHECK_INITIALIZE_SIGNATURE'
  | 'WG_CHECK_UNKNOWN_IMPORT'
  | 'WG_CHECK_IMPORT_SIGNATURE'
  | 'WG_CHECK_SHARED_MEMORY';

export interface AbiProblem {
  code: AbiProblemCode;
  message: string;
}

const LABEL_SIGNATURE: FuncType = { params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] };
const HOST_IMPORTS: Record<string, FuncType> = {
  'env.call_backend': { params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  'env.host_log': { params: ['i32', 'i32', 'i32'], results: [] },
};
const ALLOC_SIGNATURE: FuncType = { params: ['i32'], results: ['i32'] };
const DEALLOC_SIGNATURE: FuncType = { params: ['i32', 'i32'], results: [] };

const sameType = (a: FuncType | undefined, b: FuncType) =>
  !!a && formatFuncType(a) === formatFuncType(b);

/**
 * Every way the module misses the guard ABI (docs/contract.md §2), in the
 * order the loader meets them, each worded so an author can fix it from the
 * message. The loader refuses on the first; `wasmguard check` lists them all.
 */
export function findAbiProblems(info: ModuleInfo): AbiProblem[] {
  const problems: AbiProblem[] = [];
  const add = (code: AbiProblemCode, message: string) => problems.push({ code, message });
  const exportsByName = new Map(info.exports.map((e) => [e.name, e]));
  const missingLabelFns = GUARD_FUNCTIONS.filter((fn) => exportsByName.get(fn)?.kind !== 'function');

  if (missingLabelFns.length === GUARD_FUNCTIONS.length && exportsByName.has('_start')) {
    add(
      'WG_CHECK_COMMAND_MODULE',
      'module exports _start but none of the label functions: it was built as a command (a program with main), ' +
        'not as a library; build it as a reactor/library (e.g. Rust crate-type "cdylib", TinyGo -buildmode=c-shared) ' +
        'so label_agent, label_resource and label_response are exported',
    );
  } else if (missingLabelFns.length > 0) {
    add('WG_CHECK_MISSING_EXPORT', `missing required export${missingLabelFns.length > 1 ? 's' : ''} ${missingLabelFns.join(', ')}`);
  }
  for (const fn of GUARD_FUNCTIONS) {
    const entry = exportsByName.get(fn);
    if (entry?.kind === 'function' && !sameType(entry.type, LABEL_SIGNATURE)) {
      add('WG_CHECK_EXPORT_SIGNATURE', `export ${fn} has signature ${formatFuncType(entry.type)}, expected ${formatFuncType(LABEL_SIGNATURE)}`);
    }
  }
  if (exportsByName.get('memory')?.kind !== 'memory') add('WG_CHECK_MISSING_MEMORY', 'missing required export memory (the linear memory)');

  const alloc = exportsByName.get('alloc');
  const dealloc = exportsByName.get('dealloc');
  if (!!alloc !== !!dealloc) {
    add('WG_CHECK_ALLOC_PAIR', `exports ${alloc ? 'alloc' : 'dealloc'} without ${alloc ? 'dealloc' : 'alloc'}: export both or neither`);
  }
  if (alloc && !sameType(alloc.type, ALLOC_SIGNATURE)) {
    add('WG_CHECK_EXPORT_SIGNATURE', `export alloc has signature ${formatFuncType(alloc.type)}, expected ${formatFuncType(ALLOC_SIGNATURE)}`);
  }
  if (dealloc && !sameType(dealloc.type, DEALLOC_SIGNATURE)) {
    add('WG_CHECK_EXPORT_SIGNATURE', `export dealloc has signature ${formatFuncType(dealloc.type)}, expected ${formatFuncType(DEALLOC_SIGNATURE)}`);
  }
  const init = exportsByName.get('_initialize');
  if (init && (init.kind !== 'function' || init.type?.params.length || init.type?.results.length)) {
    add('WG_CHECK_INITIALIZE_SIGNATURE', 'export _initialize must be a function with no parameters and no results');
  }

  for (const imp of info.imports) {
    const qualified = `${imp.module}.${imp.name}`;
    if (imp.module === 'wasi_snapshot_preview1') {
      if (imp.kind !== 'function') add('WG_CHECK_IMPORT_SIGNATURE', `import ${qualified} must be a function`);
      continue;
    }
    const expected = HOST_IMPORTS[qualified];
    if (!expected) {
      add(
        'WG_CHECK_UNKNOWN_IMPORT',
        `imports ${qualified} (${imp.kind}), which the host does not provide; allowed imports are ` +
          'env.call_backend, env.host_log and wasi_snapshot_preview1.*',
      );
    } else if (imp.kind !== 'function' || !sameType(imp.type, expected)) {
      add('WG_CHECK_IMPORT_SIGNATURE', `import ${qualified} has signature ${formatFuncType(imp.type)}, expected ${formatFuncType(expected)}`);
    }
  }
  if (info.memories.some((m) => m.shared)) add('WG_CHECK_SHARED_MEMORY', 'shared memories are not supported');
  return problems;
}

/**
 * Checks a module against the guard ABI (docs/contract.md §2) and names the
 * first thing that is wrong, so a guard author can fix it from the message.
 */
export function validateGuard(info: ModuleInfo, guard: string): GuardShape {
  const [first] = findAbiProblems(info);
  if (first) throw new GuardLoadError(`guard ${guard}: ${first.message}`, { guard });
  const importNames = new Set(info.imports.map((i) => `${i.module}.${i.name}`));
  return {
    hasAllocator: info.exports.some((e) => e.name === 'alloc'),
    hasInitialize: info.exports.some((e) => e.name === '_initialize'),
    wasiImports: info.imports.filter((i) => i.module === 'wasi_snapshot_preview1').map((i) => i.name),
    usesBackend: importNames.has('env.call_backend'),
    usesLog: importNames.has('env.host_log'),
    exports: info.exports.map((e) => e.name),
  };
}
