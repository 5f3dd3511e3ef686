const decoder = new TextDecoder('utf-8', { fatal: false });

/** Bounds-checked reads of guard memory for host functions, which must never throw into the guard. */
export function readBytes(memory: WebAssembly.Memory, ptr: number, len: number): Uint8Array | undefined {
  const buffer = memory.buffer;
  if (ptr < 0 || len < 0 || ptr + len > buffer.byteLength) return undefined;
  return new Uint8Array(buffer, ptr, len);
}

export function readString(memory: WebAssembly.Memory, ptr: number, len: number): string | undefined {
  const bytes = readBytes(memory, ptr >>> 0, len >>> 0);
  return bytes && decoder.decode(bytes);
}
