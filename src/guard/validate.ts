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
 * Checks a module against the guard ABI (DESIGN.md section 2) and names the
 * first thing that is wrong, so a guard author can fix it from the message.
 */
export function validateGuard(info: ModuleInfo, guard: string): GuardShape {
  const fail = (message: string): never => {
    throw new GuardLoadError(`guard ${guard}: ${message}`, { guard });
  };
  const exportsByName = new Map(info.exports.map((e) => [e.name, e]));
  const missingLabelFns = GUARD_FUNCTIONS.filter((fn) => exportsByName.get(fn)?.kind !== 'function');

  if (missingLabelFns.length === GUARD_FUNCTIONS.length && exportsByName.has('_start')) {
    fail(
      'module exports _start but none of the label functions: it was built as a command (a program with main), ' +
        'not as a library; build it as a reactor/library (e.g. Rust crate-type "cdylib", TinyGo -buildmode=c-shared) ' +
        'so label_agent, label_resource and label_response are exported',
    );
  }
  if (missingLabelFns.length > 0) fail(`missing required export${missingLabelFns.length > 1 ? 's' : ''} ${missingLabelFns.join(', ')}`);
  for (const fn of GUARD_FUNCTIONS) {
    const type = exportsByName.get(fn)!.type;
    if (!sameType(type, LABEL_SIGNATURE)) {
      fail(`export ${fn} has signature ${formatFuncType(type)}, expected ${formatFuncType(LABEL_SIGNATURE)}`);
    }
  }
  if (exportsByName.get('memory')?.kind !== 'memory') fail('missing required export memory (the linear memory)');

  const alloc = exportsByName.get('alloc');
  const dealloc = exportsByName.get('dealloc');
  if (!!alloc !== !!dealloc) {
    fail(`exports ${alloc ? 'alloc' : 'dealloc'} without ${alloc ? 'dealloc' : 'alloc'}: export both or neither`);
  }
  if (alloc && !sameType(alloc.type, ALLOC_SIGNATURE)) {
    fail(`export alloc has signature ${formatFuncType(alloc.type)}, expected ${formatFuncType(ALLOC_SIGNATURE)}`);
  }
  if (dealloc && !sameType(dealloc.type, DEALLOC_SIGNATURE)) {
    fail(`export dealloc has signature ${formatFuncType(dealloc.type)}, expected ${formatFuncType(DEALLOC_SIGNATURE)}`);
  }
  const init = exportsByName.get('_initialize');
  if (init && (init.kind !== 'function' || init.type?.params.length || init.type?.results.length)) {
    fail('export _initialize must be a function with no parameters and no results');
  }

  const wasiImports: string[] = [];
  for (const imp of info.imports) {
    const qualified = `${imp.module}.${imp.name}`;
    if (imp.module === 'wasi_snapshot_preview1') {
      if (imp.kind !== 'function') fail(`import ${qualified} must be a function`);
      wasiImports.push(imp.name);
      continue;
    }
    const expected = HOST_IMPORTS[qualified];
    if (!expected) {
      fail(
        `imports ${qualified} (${imp.kind}), which the host does not provide; allowed imports are ` +
          'env.call_backend, env.host_log and wasi_snapshot_preview1.*',
      );
    }
    if (imp.kind !== 'function' || !sameType(imp.type, expected!)) {
      fail(`import ${qualified} has signature ${formatFuncType(imp.type)}, expected ${formatFuncType(expected!)}`);
    }
  }
  const memories = info.memories;
  if (memories.some((m) => m.shared)) fail('shared memories are not supported');

  const importNames = new Set(info.imports.map((i) => `${i.module}.${i.name}`));
  return {
    hasAllocator: !!alloc,
    hasInitialize: !!init,
    wasiImports,
    usesBackend: importNames.has('env.call_backend'),
    usesLog: importNames.has('env.host_log'),
    exports: info.exports.map((e) => e.name),
  };
}
