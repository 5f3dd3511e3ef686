import { fileURLToPath } from 'node:url';

/** Paths of the real guard modules the tests load. */
export const RUST_GUARD = fileURLToPath(new URL('../fixtures/rust-guard/rust_guard.wasm', import.meta.url));
export const SAMPLE_GUARDS_DIR = fileURLToPath(new URL('../../guards', import.meta.url));
export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
