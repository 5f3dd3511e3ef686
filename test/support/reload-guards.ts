/**
 * Guard versions for the hot reload tests: real modules built from WAT that
 * label a resource differently, a module that fails validation, and the
 * ConfigMap volume layout Kubernetes swaps through a `..data` symlink.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constOutput, guardModule } from './guards.js';
import { wat } from './wat.js';

/** A guard whose label_resource describes every resource as `description` (so a reply names the version that decided). */
export async function labellingGuard(description: string): Promise<Uint8Array> {
  const resource = constOutput(
    'label_resource',
    JSON.stringify({ resource: { description, secrecy: [], integrity: [] }, operation: 'read' }),
    12288,
  );
  return wat(guardModule({ resource: resource.func, extra: resource.data }));
}

/** A module with memory but none of the label functions: validation refuses it. */
export function brokenGuard(): Promise<Uint8Array> {
  return wat('(module (memory (export "memory") 1))');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A ConfigMap volume as the kubelet writes it: the files in `..<timestamp>/`,
 * `..data` pointing at it, and each visible file a symlink through `..data`.
 * `swap` writes a new timestamped folder and renames a new `..data` over the
 * old one in one step (atomic for readers), then deletes the old folder.
 */
export class ConfigMapVolume {
  #generation = 0;
  #current: string | undefined;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  swap(files: Record<string, Uint8Array | string>): void {
    const name = `..2026_12_02_00_00_${String(++this.#generation).padStart(2, '0')}.000000001`;
    const folder = join(this.dir, name);
    mkdirSync(folder);
    for (const [file, content] of Object.entries(files)) writeFileSync(join(folder, file), content);
    symlinkSync(name, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const file of Object.keys(files)) {
      try {
        symlinkSync(join('..data', file), join(this.dir, file));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    if (this.#current) rmSync(join(this.dir, this.#current), { recursive: true, force: true });
    this.#current = name;
  }
}

/** As labellingGuard, but label_resource first spins `iterations` turns: a call that is still running when a reload swaps the guard. */
export async function slowLabellingGuard(description: string, iterations: number): Promise<Uint8Array> {
  const resource = constOutput(
    'label_resource',
    JSON.stringify({ resource: { description, secrecy: [], integrity: [] }, operation: 'read' }),
    12288,
  );
  const spin = `
  (global $sink (export "sink") (mut i32) (i32.const 0))
  (func $spin
    (local $n i32) (local $acc i32)
    (local.set $n (i32.const ${iterations}))
    (loop $more
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 1103515245)) (i32.const 12345)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $more (i32.gt_s (local.get $n) (i32.const 0))))
    (global.set $sink (local.get $acc)))`;
  // The spin runs first, then the constant answer: label_resource is renamed and wrapped.
  const inner = resource.func.replace('(export "label_resource")', '$answer');
  const wrapper = `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (call $spin)
    (call $answer (local.get $in) (local.get $inlen) (local.get $out) (local.get $cap)))`;
  return wat(guardModule({ resource: inner + wrapper, extra: `${resource.data} ${spin}` }));
}
