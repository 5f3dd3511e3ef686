/**
 * Ties a TypeScript type declared below http/ to the TypeBox schema that
 * describes the same reply, so the two cannot drift: the services keep their
 * own types (decision/ must not import from http/), and each schema file
 * states `Assert<Same<Static<typeof Schema>, ServiceType>>`, which fails to
 * compile when a field is added, removed or retyped on one side only.
 */

/**
 * true when A and B are the same type, else false. Assignability both ways
 * would miss an optional field on one side only; the compiler's identity
 * check of two generic functions does not (after flattening both into plain
 * object types, so an interface and a type literal with the same fields match).
 */
export type Same<A, B> = (<T>() => T extends Flat<A> ? 1 : 2) extends <T>() => T extends Flat<B> ? 1 : 2 ? true : false;

/** An object type with its fields spelled out, nested objects and arrays included. */
type Flat<T> = T extends readonly (infer E)[] ? Flat<E>[] : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;

/** Compiles only when given `true`. */
export type Assert<T extends true> = T;
