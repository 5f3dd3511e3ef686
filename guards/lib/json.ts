// Small JSON reader and writer for guards (AssemblyScript).
//
// The reader never builds a tree: a JsonDoc is a view over UTF-8 bytes in
// linear memory (the host's input buffer, or a buffer the guard owns) and a
// JSON value is just its byte offset in that view. validate() checks the whole
// document once; after that, navigation (field, items, members, str, ...)
// trusts the structure and allocates only what it returns. That keeps an 8 MiB
// tool result cheap to label: nothing is copied but the few strings a guard
// actually reads.
//
// The writer appends UTF-8 JSON to a growable buffer from heap.alloc (not
// managed by the GC), which the ABI layer copies into the host's output buffer.

/** Nesting deeper than this is refused by validate(). */
export const MAX_DEPTH: i32 = 512;

const QUOTE: u32 = 0x22; // "
const BACKSLASH: u32 = 0x5c;

// @ts-ignore: decorator
@inline function isWs(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

// ------------------------------------------------------------------ scanning
// Byte-level scanning is done by free functions over (base, len): no managed
// references are live in these loops, so the GC's shadow-stack bookkeeping
// stays out of the hot path.

// @ts-ignore: decorator
@inline function byteAt(base: usize, pos: i32): u32 {
  return <u32>load<u8>(base + <usize>pos);
}

// @ts-ignore: decorator
@inline function wsAt(base: usize, len: i32, pos: i32): i32 {
  while (pos < len && isWs(byteAt(base, pos))) pos++;
  return pos;
}

// SWAR: test 8 bytes at a time (portable: no SIMD feature needed).
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/**
 * High bit of each byte of `w` equal to `b`. A borrow only starts at a match,
 * so the lowest set bit is exact (bytes above it may be false positives):
 * ctz(mask) >> 3 is the offset of the first match in little-endian `w`.
 */
// @ts-ignore: decorator
@inline function byteMask(w: u64, b: u64): u64 {
  const x = w ^ (ONES * b);
  return (x - ONES) & ~x & HIGHS;
}

/** High bit of each byte of `w` below 0x20, the lowest set bit exact as in byteMask. */
// @ts-ignore: decorator
@inline function controlMask(w: u64): u64 {
  return (w - ONES * 0x20) & ~w & HIGHS;
}

/** Offset just past the string starting at `pos` (no validation). */
function skipStringAt(base: usize, len: i32, pos: i32): i32 {
  let p = pos + 1;
  while (true) {
    // Straight to the first quote or backslash of the word: JSON text inside
    // a string (an MCP text block) has an escape every few bytes.
    while (p + 8 <= len) {
      const w = load<u64>(base + <usize>p);
      const m = byteMask(w, QUOTE) | byteMask(w, BACKSLASH);
      if (m != 0) {
        p += <i32>(ctz(m) >> 3);
        break;
      }
      p += 8;
    }
    if (p >= len) return len;
    const c = byteAt(base, p);
    if (c == QUOTE) return p + 1;
    p += c == BACKSLASH ? 2 : 1;
  }
  return len; // unreachable
}

// ------------------------------------------------------------ long values
// Navigation skips the same long values again and again: every lookup of a
// member after an MCP result's text walks that whole escaped string (about
// ten times per label_response call, a third of its time). validate() walks
// every value once anyway, so it notes where each long one ends, and skipAt()
// answers those in one lookup. Keyed by absolute address: the table is
// voided when a call's input arrives (forgetLongValues, from inputDoc) and
// whenever a document is freed, so an entry never outlives the bytes it
// describes.

/** Values at least this long are remembered; shorter ones are cheaper to scan than to look up. */
const LONG_VALUE: i32 = 256;
const LONG_SLOTS: i32 = 1024;
/** A slot: start address, end address, generation (u32 each: wasm32). */
const SLOT_BYTES: i32 = 12;
// Static memory, not a managed array: a top-level allocation here would run
// before the runtime's own lazy globals are set up (the start function
// follows import order) and corrupt the collector's lists.
const LONG_TABLE: usize = memory.data(LONG_SLOTS * SLOT_BYTES);
/** Entries of older generations are void: forgetting them all is one increment. */
let generation: u32 = 1;

// @ts-ignore: decorator
@inline function longSlot(addr: usize): usize {
  return LONG_TABLE + <usize>((((<u32>addr * 2654435761) >> 22) & <u32>(LONG_SLOTS - 1)) * <u32>SLOT_BYTES);
}

function rememberLongValue(base: usize, pos: i32, end: i32): void {
  const slot = longSlot(base + <usize>pos);
  store<u32>(slot, <u32>(base + <usize>pos));
  store<u32>(slot, <u32>(base + <usize>end), 4);
  store<u32>(slot, generation, 8);
}

/** Voids every remembered long value: their bytes are about to change or be freed. */
export function forgetLongValues(): void {
  generation++;
}

/** Offset just past the value starting at `pos` (the document is known to be valid). */
function skipAt(base: usize, len: i32, pos: i32): i32 {
  const addr = base + <usize>pos;
  const slot = longSlot(addr);
  if (load<u32>(slot) == <u32>addr && load<u32>(slot, 8) == generation) return min(<i32>(<usize>load<u32>(slot, 4) - base), len);
  const c = byteAt(base, pos);
  if (c == QUOTE) return skipStringAt(base, len, pos);
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    let p = pos;
    while (p < len) {
      const d = byteAt(base, p);
      if (d == QUOTE) {
        p = skipStringAt(base, len, p);
        continue;
      }
      if (d == 0x7b || d == 0x5b) depth++;
      else if (d == 0x7d || d == 0x5d) {
        depth--;
        if (depth == 0) return p + 1;
      }
      p++;
    }
    return len;
  }
  let p = pos;
  while (p < len) {
    const d = byteAt(base, p);
    if (d == 0x2c || d == 0x7d || d == 0x5d || isWs(d)) break;
    p++;
  }
  return p;
}

function checkWordAt(base: usize, len: i32, pos: i32, a: u32, b: u32, c: u32, d: u32, e: u32, n: i32): i32 {
  if (pos + n > len) return -1;
  if (byteAt(base, pos) != a || byteAt(base, pos + 1) != b || byteAt(base, pos + 2) != c || byteAt(base, pos + 3) != d) return -1;
  if (n == 5 && byteAt(base, pos + 4) != e) return -1;
  return pos + n;
}

function checkNumberAt(base: usize, len: i32, pos: i32): i32 {
  let p = pos;
  if (byteAt(base, p) == 0x2d) p++;
  if (p >= len) return -1;
  if (byteAt(base, p) == 0x30) {
    p++;
  } else if (isDigit(byteAt(base, p))) {
    while (p < len && isDigit(byteAt(base, p))) p++;
  } else {
    return -1;
  }
  if (p < len && byteAt(base, p) == 0x2e) {
    p++;
    if (p >= len || !isDigit(byteAt(base, p))) return -1;
    while (p < len && isDigit(byteAt(base, p))) p++;
  }
  if (p < len && (byteAt(base, p) | 0x20) == 0x65) {
    p++;
    if (p < len && (byteAt(base, p) == 0x2b || byteAt(base, p) == 0x2d)) p++;
    if (p >= len || !isDigit(byteAt(base, p))) return -1;
    while (p < len && isDigit(byteAt(base, p))) p++;
  }
  return p;
}

function checkStringAt(base: usize, len: i32, pos: i32): i32 {
  let p = pos + 1;
  while (p < len) {
    while (p + 8 <= len) {
      const w = load<u64>(base + <usize>p);
      const m = byteMask(w, QUOTE) | byteMask(w, BACKSLASH) | controlMask(w);
      if (m != 0) {
        p += <i32>(ctz(m) >> 3);
        break;
      }
      p += 8;
    }
    if (p >= len) return -1;
    const c = byteAt(base, p);
    if (c == QUOTE) return p + 1;
    if (c < 0x20) return -1;
    if (c == BACKSLASH) {
      p++;
      if (p >= len) return -1;
      const e = byteAt(base, p);
      if (e == 0x75) {
        if (p + 4 >= len) return -1;
        for (let i = 1; i <= 4; i++) if (hexVal(byteAt(base, p + i)) < 0) return -1;
        p += 5;
        continue;
      }
      if (
        e != QUOTE && e != BACKSLASH && e != 0x2f && e != 0x62 &&
        e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74
      ) return -1;
    }
    p++;
  }
  return -1;
}

function checkValueAt(base: usize, len: i32, pos: i32, depth: i32): i32 {
  if (pos >= len) return -1;
  const c = byteAt(base, pos);
  if (c == QUOTE) {
    const end = checkStringAt(base, len, pos);
    if (end - pos >= LONG_VALUE) rememberLongValue(base, pos, end);
    return end;
  }
  if (c == 0x7b || c == 0x5b) {
    const end = checkContainerAt(base, len, pos, depth, c);
    if (end - pos >= LONG_VALUE) rememberLongValue(base, pos, end);
    return end;
  }
  if (c == 0x74) return checkWordAt(base, len, pos, 0x74, 0x72, 0x75, 0x65, 0, 4); // true
  if (c == 0x66) return checkWordAt(base, len, pos, 0x66, 0x61, 0x6c, 0x73, 0x65, 5); // false
  if (c == 0x6e) return checkWordAt(base, len, pos, 0x6e, 0x75, 0x6c, 0x6c, 0, 4); // null
  if (c == 0x2d || isDigit(c)) return checkNumberAt(base, len, pos);
  return -1;
}

/** Offset just past the object or array (opened by `c`) at `pos`, or -1 when it is not well formed. */
function checkContainerAt(base: usize, len: i32, pos: i32, depth: i32, c: u32): i32 {
  if (depth >= MAX_DEPTH) return -1;
  const close: u32 = c == 0x7b ? 0x7d : 0x5d;
  let p = wsAt(base, len, pos + 1);
  if (p < len && byteAt(base, p) == close) return p + 1;
  while (true) {
    if (c == 0x7b) {
      if (p >= len || byteAt(base, p) != QUOTE) return -1;
      p = checkStringAt(base, len, p);
      if (p < 0) return -1;
      p = wsAt(base, len, p);
      if (p >= len || byteAt(base, p) != 0x3a) return -1;
      p = wsAt(base, len, p + 1);
    }
    p = checkValueAt(base, len, p, depth + 1);
    if (p < 0) return -1;
    p = wsAt(base, len, p);
    if (p >= len) return -1;
    const d = byteAt(base, p);
    if (d == close) return p + 1;
    if (d != 0x2c) return -1;
    p = wsAt(base, len, p + 1);
  }
  return -1; // unreachable
}

/** Whether the raw key at `keyPos` (a string with no escapes or non-ASCII bytes) equals `key`. */
function rawKeyEquals(base: usize, keyPos: i32, keyEnd: i32, key: string): bool {
  const n = keyEnd - keyPos - 2;
  if (n != key.length) return false;
  const k = changetype<usize>(key);
  for (let i = 0; i < n; i++) {
    if (byteAt(base, keyPos + 1 + i) != <u32>load<u16>(k + (<usize>i << 1))) return false;
  }
  return true;
}

function isPlainString(base: usize, pos: i32, end: i32): bool {
  for (let i = pos + 1; i < end - 1; i++) {
    const c = byteAt(base, i);
    if (c == BACKSLASH || c >= 0x80) return false;
  }
  return true;
}

const KEY_SLOTS: i32 = 64;

// @ts-ignore: decorator
@inline function keySlot(n: i32, first: u32, last: u32): i32 {
  return <i32>((<u32>n * 31 + first * 7 + last) & <u32>(KEY_SLOTS - 1));
}

/**
 * The keys JsonDoc.fields() looks for, in a small open-addressed table keyed
 * by a key's length, first and last byte: a member is matched by one lookup
 * and at most a comparison or two, not by a comparison with every key (an
 * item of a list has about twenty members, looked up among twenty-two keys).
 * Keys are ASCII and at most KEY_SLOTS / 2 of them; build a set once, at the
 * top level, and reuse it.
 */
export class KeySet {
  /** Slot → index of its key + 1; 0 is empty. */
  private slots: StaticArray<i32> = new StaticArray<i32>(KEY_SLOTS);

  constructor(public keys: Array<string>) {
    assert(keys.length * 2 <= KEY_SLOTS, "KeySet: too many keys");
    for (let i = 0; i < keys.length; i++) {
      const key = unchecked(keys[i]);
      const n = key.length;
      for (let j = 0; j < n; j++) assert(key.charCodeAt(j) < 0x80, "KeySet: keys must be ASCII");
      let s = keySlot(n, n > 0 ? <u32>key.charCodeAt(0) : 0, n > 0 ? <u32>key.charCodeAt(n - 1) : 0);
      while (unchecked(this.slots[s]) != 0) s = (s + 1) & (KEY_SLOTS - 1);
      unchecked((this.slots[s] = i + 1));
    }
  }

  get length(): i32 {
    return this.keys.length;
  }

  /** Index of the key whose bytes are the `n` bytes at base + start (no escapes, ASCII), or -1. */
  findRaw(base: usize, start: i32, n: i32): i32 {
    let s = keySlot(n, n > 0 ? byteAt(base, start) : 0, n > 0 ? byteAt(base, start + n - 1) : 0);
    while (true) {
      const e = unchecked(this.slots[s]);
      if (e == 0) return -1;
      const key = unchecked(this.keys[e - 1]);
      if (key.length == n && rawKeyEquals(base, start - 1, start + n + 1, key)) return e - 1;
      s = (s + 1) & (KEY_SLOTS - 1);
    }
    return -1; // unreachable
  }

  /** Index of the key equal to the string at `pos` of `doc` once decoded (a key with escapes), or -1. */
  findDecoded(doc: JsonDoc, pos: i32): i32 {
    for (let i = 0; i < this.keys.length; i++) if (doc.keyEquals(pos, unchecked(this.keys[i]))) return i;
    return -1;
  }
}

export class JsonDoc {
  /** Set when the document was built from a buffer this doc must free. */
  owned: bool = false;

  constructor(public base: usize, public len: i32) {}

  /** A document over a copy of `bytes`, owned (free() releases it). */
  static copyOf(ptr: usize, len: i32): JsonDoc {
    const buf = heap.alloc(<usize>max(len, 1));
    memory.copy(buf, ptr, <usize>len);
    const doc = new JsonDoc(buf, len);
    doc.owned = true;
    return doc;
  }

  free(): void {
    forgetLongValues();
    if (this.owned && this.base != 0) heap.free(this.base);
    this.base = 0;
    this.len = 0;
    this.owned = false;
  }

  // @ts-ignore: decorator
  @inline at(pos: i32): u32 {
    return byteAt(this.base, pos);
  }

  ws(pos: i32): i32 {
    return wsAt(this.base, this.len, pos);
  }

  /** Offset of the root value, or -1 for an empty document. */
  root(): i32 {
    const p = this.ws(0);
    return p < this.len ? p : -1;
  }

  /** Whether the bytes are exactly one well-formed JSON value (plus whitespace), nested at most MAX_DEPTH deep. */
  validate(): bool {
    const base = this.base;
    const len = this.len;
    const p = wsAt(base, len, 0);
    if (p >= len) return false;
    const end = checkValueAt(base, len, p, 0);
    if (end < 0) return false;
    return wsAt(base, len, end) == len;
  }

  // ---------------------------------------------------------------- navigation
  // Every function below accepts -1 ("missing") and answers "no".

  isObject(pos: i32): bool {
    return pos >= 0 && this.at(pos) == 0x7b;
  }

  isArray(pos: i32): bool {
    return pos >= 0 && this.at(pos) == 0x5b;
  }

  isString(pos: i32): bool {
    return pos >= 0 && this.at(pos) == QUOTE;
  }

  isNull(pos: i32): bool {
    return pos >= 0 && this.at(pos) == 0x6e;
  }

  /** 1 for true, 0 for false, -1 when the value is missing or not a boolean. */
  bool(pos: i32): i32 {
    if (pos < 0) return -1;
    const c = this.at(pos);
    if (c == 0x74) return 1;
    if (c == 0x66) return 0;
    return -1;
  }

  /** Integer value of a number (fraction dropped), or i64.MIN_VALUE if not a number. */
  int(pos: i32): i64 {
    if (pos < 0) return i64.MIN_VALUE;
    let p = pos;
    let neg = false;
    if (this.at(p) == 0x2d) {
      neg = true;
      p++;
    }
    if (p >= this.len || !isDigit(this.at(p))) return i64.MIN_VALUE;
    let v: i64 = 0;
    while (p < this.len && isDigit(this.at(p))) {
      if (v < 100000000000000000) v = v * 10 + <i64>(this.at(p) - 0x30);
      p++;
    }
    return neg ? -v : v;
  }

  /** Offset just past the value at `pos` (the document is known to be valid). */
  skip(pos: i32): i32 {
    return skipAt(this.base, this.len, pos);
  }

  private skipString(pos: i32): i32 {
    return skipAt(this.base, this.len, pos);
  }

  /** Value offset of member `key` of the object at `obj`, or -1. The last duplicate wins, as in JSON.parse. */
  field(obj: i32, key: string): i32 {
    if (!this.isObject(obj)) return -1;
    const base = this.base;
    const len = this.len;
    let found = -1;
    let p = wsAt(base, len, obj + 1);
    while (p < len && byteAt(base, p) == QUOTE) {
      const keyPos = p;
      const keyEnd = skipStringAt(base, len, p);
      p = wsAt(base, len, wsAt(base, len, keyEnd) + 1); // past ':'
      if (isPlainString(base, keyPos, keyEnd) ? rawKeyEquals(base, keyPos, keyEnd, key) : this.keyEquals(keyPos, key)) {
        found = p;
      }
      p = wsAt(base, len, skipAt(base, len, p));
      if (p < len && byteAt(base, p) == 0x2c) p = wsAt(base, len, p + 1);
      else break;
    }
    return found;
  }

  /**
   * One pass over the object at `obj`: out[i] becomes the value offset of
   * member keys.keys[i], or -1. Much cheaper than one field() call per key on
   * big objects, and each member costs one table lookup whatever the number
   * of keys (KeySet). Last duplicate wins.
   */
  fields(obj: i32, keys: KeySet, out: Array<i32>): void {
    for (let i = 0; i < keys.length; i++) unchecked((out[i] = -1));
    if (!this.isObject(obj)) return;
    const base = this.base;
    const len = this.len;
    let p = wsAt(base, len, obj + 1);
    while (p < len && byteAt(base, p) == QUOTE) {
      const keyPos = p;
      // The key's bytes up to its closing quote: keys are short, and one with an escape or a
      // non-ASCII byte (never one of a KeySet's raw forms) is compared decoded.
      let q = p + 1;
      let plain = true;
      while (q < len) {
        const c = byteAt(base, q);
        if (c == QUOTE) break;
        if (c == BACKSLASH || c >= 0x80) {
          plain = false;
          break;
        }
        q++;
      }
      const keyEnd = plain ? q + 1 : skipStringAt(base, len, keyPos);
      p = wsAt(base, len, wsAt(base, len, keyEnd) + 1);
      const i = plain ? keys.findRaw(base, keyPos + 1, q - keyPos - 1) : keys.findDecoded(this, keyPos);
      if (i >= 0) unchecked((out[i] = p));
      p = wsAt(base, len, skipAt(base, len, p));
      if (p < len && byteAt(base, p) == 0x2c) p = wsAt(base, len, p + 1);
      else break;
    }
  }

  /** Member offsets of an object as [keyPos, valuePos, keyPos, valuePos, ...]. */
  members(obj: i32): Array<i32> {
    const out = new Array<i32>();
    if (!this.isObject(obj)) return out;
    const base = this.base;
    const len = this.len;
    let p = wsAt(base, len, obj + 1);
    while (p < len && byteAt(base, p) == QUOTE) {
      const keyPos = p;
      p = wsAt(base, len, wsAt(base, len, skipStringAt(base, len, p)) + 1);
      out.push(keyPos);
      out.push(p);
      p = wsAt(base, len, skipAt(base, len, p));
      if (p < len && byteAt(base, p) == 0x2c) p = wsAt(base, len, p + 1);
      else break;
    }
    return out;
  }

  /** Element offsets of the array at `arr` (empty when it is not an array). */
  items(arr: i32): Array<i32> {
    const out = new Array<i32>();
    if (!this.isArray(arr)) return out;
    const base = this.base;
    const len = this.len;
    let p = wsAt(base, len, arr + 1);
    if (p < len && byteAt(base, p) == 0x5d) return out;
    while (p < len) {
      out.push(p);
      p = wsAt(base, len, skipAt(base, len, p));
      if (p < len && byteAt(base, p) == 0x2c) p = wsAt(base, len, p + 1);
      else break;
    }
    return out;
  }

  /** Whether the string at `pos` equals `key` (compared without decoding when it has no escapes). */
  keyEquals(pos: i32, key: string): bool {
    if (!this.isString(pos)) return false;
    const end = skipStringAt(this.base, this.len, pos);
    if (isPlainString(this.base, pos, end)) return rawKeyEquals(this.base, pos, end, key);
    const s = this.str(pos);
    return s != null && s == key;
  }

  /** Decoded string at `pos`, or null when the value is missing or not a string. */
  str(pos: i32): string | null {
    if (!this.isString(pos)) return null;
    const start = pos + 1;
    const end = this.skipString(pos) - 1;
    let escaped = false;
    for (let i = start; i < end; i++) {
      if (this.at(i) == BACKSLASH) {
        escaped = true;
        break;
      }
    }
    if (!escaped) return String.UTF8.decodeUnsafe(this.base + <usize>start, <usize>(end - start));
    const tmp = heap.alloc(<usize>max(end - start, 1));
    const n = this.unescapeInto(pos, end, tmp);
    const s = String.UTF8.decodeUnsafe(tmp, <usize>n);
    heap.free(tmp);
    return s;
  }

  /** String at `pos` or `fallback`. */
  strOr(pos: i32, fallback: string): string {
    const s = this.str(pos);
    return s == null ? fallback : s;
  }

  /**
   * Decodes the JSON string at `pos` into a new owned document (its UTF-8
   * bytes), e.g. the "text" of an MCP text content block. Null if not a string.
   */
  stringAsDoc(pos: i32): JsonDoc | null {
    if (!this.isString(pos)) return null;
    const end = this.skipString(pos) - 1;
    const buf = heap.alloc(<usize>max(end - pos - 1, 1));
    const n = this.unescapeInto(pos, end, buf);
    const doc = new JsonDoc(buf, n);
    doc.owned = true;
    return doc;
  }

  /**
   * Writes the UTF-8 bytes of the string at `pos` (escapes resolved) to `dst`,
   * which must hold the raw length; returns the byte count. Unpaired
   * surrogate escapes become U+FFFD.
   */
  private unescapeInto(pos: i32, end: i32, dst: usize): i32 {
    const base = this.base;
    let p = pos + 1;
    let o: usize = dst;
    while (p < end) {
      // The run up to the next backslash is copied as it is, a word at a time: each word is stored
      // whole and the output moves on by the bytes before the backslash (the rest is overwritten).
      // MCP text has an escape every few bytes, where one memory.copy per run costs more than the run.
      // dst holds the raw length, and the output never passes the input it comes from, so a whole
      // word fits while the input has one.
      let q = p;
      while (q + 8 <= end) {
        const w = load<u64>(base + <usize>q);
        store<u64>(o, w);
        const m = byteMask(w, BACKSLASH);
        if (m != 0) {
          const run = <i32>(ctz(m) >> 3);
          q += run;
          o += <usize>run;
          break;
        }
        q += 8;
        o += 8;
      }
      while (q < end && byteAt(base, q) != BACKSLASH) {
        store<u8>(o, load<u8>(base + <usize>q));
        q++;
        o++;
      }
      p = q;
      if (p >= end) break;
      const e = this.at(p + 1);
      p += 2;
      if (e == 0x75) {
        let cp = <u32>this.hex4(p);
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {
          // high surrogate: needs a following \uDC00-\uDFFF
          if (p + 5 < end && this.at(p) == BACKSLASH && this.at(p + 1) == 0x75) {
            const lo = <u32>this.hex4(p + 2);
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              p += 6;
            } else {
              cp = 0xfffd;
            }
          } else {
            cp = 0xfffd;
          }
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          cp = 0xfffd;
        }
        o = putUtf8(o, cp);
        continue;
      }
      let b: u32 = e;
      if (e == 0x62) b = 0x08;
      else if (e == 0x66) b = 0x0c;
      else if (e == 0x6e) b = 0x0a;
      else if (e == 0x72) b = 0x0d;
      else if (e == 0x74) b = 0x09;
      store<u8>(o++, <u8>b);
    }
    return <i32>(o - dst);
  }

  private hex4(p: i32): i32 {
    if (p + 4 > this.len) return 0xfffd;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const h = hexVal(this.at(p + i));
      if (h < 0) return 0xfffd;
      v = (v << 4) | h;
    }
    return v;
  }

  /** Strings of an array of strings; non-string elements are skipped. Null when not an array. */
  strings(arr: i32): Array<string> | null {
    if (!this.isArray(arr)) return null;
    const out = new Array<string>();
    const els = this.items(arr);
    for (let i = 0; i < els.length; i++) {
      const s = this.str(unchecked(els[i]));
      if (s != null) out.push(s);
    }
    return out;
  }

  /** Whether every element of the array at `arr` is a string. */
  allStrings(arr: i32): bool {
    if (!this.isArray(arr)) return false;
    const els = this.items(arr);
    for (let i = 0; i < els.length; i++) {
      if (!this.isString(unchecked(els[i]))) return false;
    }
    return true;
  }

  /** Follows a path of object keys; -1 as soon as one is missing. */
  path(pos: i32, keys: Array<string>): i32 {
    let p = pos;
    for (let i = 0; i < keys.length && p >= 0; i++) p = this.field(p, unchecked(keys[i]));
    return p;
  }
}

function putUtf8(o: usize, cp: u32): usize {
  if (cp < 0x80) {
    store<u8>(o, <u8>cp);
    return o + 1;
  }
  if (cp < 0x800) {
    store<u8>(o, <u8>(0xc0 | (cp >> 6)));
    store<u8>(o + 1, <u8>(0x80 | (cp & 63)));
    return o + 2;
  }
  if (cp < 0x10000) {
    store<u8>(o, <u8>(0xe0 | (cp >> 12)));
    store<u8>(o + 1, <u8>(0x80 | ((cp >> 6) & 63)));
    store<u8>(o + 2, <u8>(0x80 | (cp & 63)));
    return o + 3;
  }
  store<u8>(o, <u8>(0xf0 | (cp >> 18)));
  store<u8>(o + 1, <u8>(0x80 | ((cp >> 12) & 63)));
  store<u8>(o + 2, <u8>(0x80 | ((cp >> 6) & 63)));
  store<u8>(o + 3, <u8>(0x80 | (cp & 63)));
  return o + 4;
}

const HEX = "0123456789abcdef";

/** Bytes JsonWriter.strBody writes for `s`. */
function escapedLength(s: string): i32 {
  const n = s.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c < 0x80) {
      if (c == QUOTE || c == BACKSLASH || c == 0x0a || c == 0x0d || c == 0x09) bytes += 2;
      else bytes += c >= 0x20 ? 1 : 6;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && <u32>s.charCodeAt(i + 1) - 0xdc00 < 0x400) {
      bytes += 4;
      i++;
    } else {
      bytes += 3; // BMP character, or an unpaired surrogate written as U+FFFD
    }
  }
  return bytes;
}

/** Appends UTF-8 JSON text to a growable buffer outside the GC heap. */
export class JsonWriter {
  buf: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;
  /** Writing into memory the writer does not own (the host's output buffer). */
  external: bool = false;

  constructor(initial: i32 = 1024) {
    if (initial > 0) {
      this.cap = max(initial, 16);
      this.buf = heap.alloc(<usize>this.cap);
    }
  }

  /**
   * Writes into `cap` bytes at `ptr`, owned by someone else, from now on.
   * When that is not enough, the text written so far moves to a heap buffer
   * that keeps growing (see spilled()).
   */
  target(ptr: usize, cap: i32): void {
    this.free();
    this.buf = ptr;
    this.cap = cap;
    this.external = true;
  }

  /** Whether text is in the external target (false: it outgrew it and lives in a heap buffer). */
  inTarget(): bool {
    return this.external;
  }

  free(): void {
    if (this.buf != 0 && !this.external) heap.free(this.buf);
    this.buf = 0;
    this.len = 0;
    this.cap = 0;
    this.external = false;
  }

  private reserve(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.cap) return;
    let cap = max(this.cap * 2, 1024);
    while (cap < need) cap *= 2;
    if (this.external) {
      const spill = heap.alloc(<usize>cap);
      memory.copy(spill, this.buf, <usize>this.len);
      this.buf = spill;
      this.external = false;
    } else {
      this.buf = this.buf == 0 ? heap.alloc(<usize>cap) : heap.realloc(this.buf, <usize>cap);
    }
    this.cap = cap;
  }

  byte(c: u32): JsonWriter {
    this.reserve(1);
    store<u8>(this.buf + <usize>this.len, <u8>c);
    this.len++;
    return this;
  }

  /** Appends ASCII text verbatim (JSON punctuation, keys known to need no escaping). */
  raw(s: string): JsonWriter {
    const n = s.length;
    this.reserve(n);
    const b = this.buf + <usize>this.len;
    const src = changetype<usize>(s);
    for (let i = 0; i < n; i++) store<u8>(b + <usize>i, <u8>load<u16>(src + (<usize>i << 1)));
    this.len += n;
    return this;
  }

  /** Appends raw bytes (e.g. a JSON value copied from a document). */
  bytes(ptr: usize, n: i32): JsonWriter {
    this.reserve(n);
    memory.copy(this.buf + <usize>this.len, ptr, <usize>n);
    this.len += n;
    return this;
  }

  int(v: i64): JsonWriter {
    return this.raw(v.toString());
  }

  /** Appends `s` as a JSON string literal: UTF-8, escaped; unpaired surrogates become U+FFFD. */
  str(s: string): JsonWriter {
    return this.byte(QUOTE).strBody(s).byte(QUOTE);
  }

  /** Appends the digits of a non-negative integer. */
  uint(v: u32): JsonWriter {
    let digits = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    this.reserve(digits);
    let o = this.buf + <usize>(this.len + digits);
    this.len += digits;
    do {
      store<u8>(--o, <u8>(0x30 + v % 10));
      v /= 10;
    } while (v != 0);
    return this;
  }

  /**
   * Appends the value at `pos` of `doc` verbatim; for a string, without its
   * quotes (the bytes are already valid JSON string content).
   */
  rawValue(doc: JsonDoc, pos: i32, stripQuotes: bool): JsonWriter {
    let start = pos;
    let end = skipAt(doc.base, doc.len, pos);
    if (stripQuotes && doc.isString(pos)) {
      start++;
      end--;
    }
    return this.bytes(doc.base + <usize>start, end - start);
  }

  /** Appends `s` escaped as JSON string content, without quotes. */
  strBody(s: string): JsonWriter {
    const n = s.length;
    // Worst case is 6 bytes per unit (\u00XX); reserve exactly when that
    // would not fit, so text that fits the host's buffer is never spilled.
    if (this.len + n * 6 > this.cap) this.reserve(escapedLength(s));
    const src = changetype<usize>(s);
    let o = this.buf + <usize>this.len;
    for (let i = 0; i < n; i++) {
      let c = <u32>load<u16>(src + (<usize>i << 1));
      if (c < 0x80) {
        if (c == QUOTE || c == BACKSLASH) {
          store<u8>(o, <u8>BACKSLASH);
          store<u8>(o + 1, <u8>c);
          o += 2;
        } else if (c >= 0x20) {
          store<u8>(o++, <u8>c);
        } else if (c == 0x0a) {
          store<u16>(o, 0x6e5c); // \n
          o += 2;
        } else if (c == 0x0d) {
          store<u16>(o, 0x725c); // \r
          o += 2;
        } else if (c == 0x09) {
          store<u16>(o, 0x745c); // \t
          o += 2;
        } else {
          store<u32>(o, 0x3030755c); // \u00
          store<u8>(o + 4, <u8>HEX.charCodeAt(c >> 4));
          store<u8>(o + 5, <u8>HEX.charCodeAt(c & 15));
          o += 6;
        }
        continue;
      }
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const lo = <u32>load<u16>(src + (<usize>(i + 1) << 1));
        if (lo >= 0xdc00 && lo < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      } else if (c >= 0xd800 && c < 0xe000) {
        c = 0xfffd;
      }
      o = putUtf8(o, c);
    }
    this.len = <i32>(o - this.buf);
    return this;
  }

  /** Appends a JSON array of strings. */
  strArray(arr: Array<string>): JsonWriter {
    this.byte(0x5b);
    for (let i = 0; i < arr.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.str(unchecked(arr[i]));
    }
    return this.byte(0x5d);
  }
}
