import fc from 'fast-check';

/**
 * JSON texts as a tool or client might send them, for the property tests of
 * the JSON readers: objects are written member by member, so they can repeat
 * a key (a later member replacing an earlier, deeper one), keys include
 * `__proto__`, `constructor` and `prototype` (plain and \u-escaped), strings
 * are full of brackets, colons, quotes and backslashes, and some texts nest
 * deeper than a small limit, are laid out with whitespace, or are cut short.
 */

type Doc = { kind: 'scalar'; text: string } | { kind: 'array'; items: Doc[] } | { kind: 'object'; members: Array<[string, Doc]> };

/** Strings whose brackets, colons and quotes a scan must not count. */
const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', ':', 'a', ' '), maxLength: 6 });

const key = fc.oneof(
  fc.constantFrom('a', 'b', '__proto__', 'constructor', 'prototype'),
  // The same keys escaped: what JSON.parse reads, not what the text shows.
  fc.constantFrom('"\\u0061"', '"\\u005f_proto__"', '"constr\\u0075ctor"', '"prot\\u006ftype"').map((raw) => ({ raw })),
  tricky,
);

const scalar = fc.oneof(tricky.map((s) => JSON.stringify(s)), fc.integer().map(String), fc.constantFrom('null', 'true', '1.5e3', '-0'));

const doc: fc.Arbitrary<Doc> = fc.letrec<{ doc: Doc; array: Doc; object: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar.map((text): Doc => ({ kind: 'scalar', text })),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('doc'), { maxLength: 4 }).map((items): Doc => ({ kind: 'array', items })),
  object: fc
    .array(fc.tuple(key, tie('doc')), { maxLength: 4 })
    .map((members): Doc => ({ kind: 'object', members: members.map(([k, v]) => [typeof k === 'string' ? JSON.stringify(k) : k.raw, v]) })),
})).doc;

function write(d: Doc, space: string): string {
  switch (d.kind) {
    case 'scalar':
      return d.text;
    case 'array':
      return `[${space}${d.items.map((item) => write(item, space)).join(`,${space}`)}${space}]`;
    case 'object':
      return `{${space}${d.members.map(([k, v]) => `${k}${space}:${space}${write(v, space)}`).join(`,${space}`)}${space}}`;
  }
}

/** `d` under `levels` more arrays or objects. */
function nested(d: Doc, levels: number): Doc {
  let out = d;
  for (let i = 0; i < levels; i++) out = i % 2 === 0 ? { kind: 'array', items: [out] } : { kind: 'object', members: [['"n"', out]] };
  return out;
}

/** A JSON text (or a near miss) and a small depth limit to read it under. */
export const jsonText: fc.Arbitrary<{ text: string; limit: number }> = fc
  .record({
    d: doc,
    limit: fc.integer({ min: 2, max: 8 }),
    // Sometimes nest it deeper, by up to a few levels past the limit.
    wrap: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 10 }), weight: 1 }),
    // Sometimes a key whose deep value a later duplicate replaces.
    shadowed: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
    space: fc.constantFrom('', ' ', '\n  '),
    form: fc.constantFrom('as written', 'as written', 'as written', 'as written', 'serialised', 'serialised', 'cut short', 'with BOM'),
  })
  .map(({ d, limit, wrap, shadowed, space, form }) => {
    let root = nested(d, wrap);
    if (shadowed) root = { kind: 'object', members: [['"k"', nested(root, limit)], ['"k"', root]] };
    let text = write(root, space);
    if (form === 'serialised') {
      try {
        text = JSON.stringify(JSON.parse(text));
      } catch {
        // stays as written
      }
    } else if (form === 'cut short') text = text.slice(0, Math.max(0, text.length - 1));
    else if (form === 'with BOM') text = `\uFEFF${text}`;
    return { text, limit };
  });
