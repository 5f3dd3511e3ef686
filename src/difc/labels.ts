import { LabelError } from './errors.js';
import type { LabelsJson, ResourceLabelsJson } from './types.js';

/** On the superset side of a subset check, this tag covers every tag. */
export const WILDCARD = '*';

/** Up to this many tags a lookup scans the array: cheaper than building and hashing into a Set. */
const SCAN_LIMIT = 8;

const notAString = (tag: unknown, index: number) => new LabelError(`tag ${index} is ${tag === null ? 'null' : typeof tag}, expected a string`);

/** Result of `subset ⊆ superset`: the subset's tags the superset does not cover. */
export interface SubsetCheck {
  ok: boolean;
  missing: string[];
}

/**
 * An immutable set of tags. Construction normalises (trim, drop empty, dedupe,
 * sort) so equal labels serialise identically and responses are deterministic.
 */
export class Label {
  static readonly EMPTY: Label = new Label([]);

  readonly #tags: readonly string[];
  /** Built at the first lookup in a label too large to scan: most labels hold a handful of tags. */
  #set: ReadonlySet<string> | undefined;

  private constructor(normalised: string[], set?: ReadonlySet<string>) {
    this.#tags = Object.freeze(normalised);
    this.#set = set;
    Object.freeze(this);
  }

  static of(tags?: Iterable<unknown> | Label | null): Label {
    if (tags instanceof Label) return tags;
    if (tags === undefined || tags === null) return Label.EMPTY;
    return Array.isArray(tags) ? Label.#ofArray(tags) : Label.#ofIterable(tags);
  }

  /**
   * Labels arrive as JSON arrays on every decision, mostly of a few tags:
   * each is put in its place as it comes (Array.prototype.sort costs more
   * than the whole label below about SCAN_LIMIT tags).
   */
  static #ofArray(tags: readonly unknown[]): Label {
    if (tags.length > SCAN_LIMIT) return Label.#ofIterable(tags);
    const out: string[] = [];
    for (let i = 0; i < tags.length; i++) {
      const raw = tags[i];
      if (typeof raw !== 'string') throw notAString(raw, i);
      const tag = raw.trim();
      if (tag === '') continue;
      let at = out.length;
      while (at > 0 && out[at - 1]! > tag) at--;
      if (at > 0 && out[at - 1] === tag) continue;
      out.push(tag);
      for (let k = out.length - 1; k > at; k--) out[k] = out[k - 1]!;
      out[at] = tag;
    }
    return out.length === 0 ? Label.EMPTY : new Label(out);
  }

  static #ofIterable(tags: Iterable<unknown>): Label {
    const seen = new Set<string>();
    let index = 0;
    for (const raw of tags) {
      if (typeof raw !== 'string') throw notAString(raw, index);
      const tag = raw.trim();
      if (tag !== '') seen.add(tag);
      index++;
    }
    if (seen.size === 0) return Label.EMPTY;
    return new Label([...seen].sort(), seen);
  }

  get tags(): readonly string[] {
    return this.#tags;
  }

  get size(): number {
    return this.#tags.length;
  }

  isEmpty(): boolean {
    return this.#tags.length === 0;
  }

  has(tag: string): boolean {
    const tags = this.#tags;
    if (tags.length <= SCAN_LIMIT) return tags.includes(tag);
    // Private fields stay writable on a frozen object: the set is a cache, the label does not change.
    this.#set ??= new Set(tags);
    return this.#set.has(tag);
  }

  hasWildcard(): boolean {
    return this.has(WILDCARD);
  }

  /**
   * Tags of this label that `superset` does not cover. A wildcard in the
   * superset covers everything; a wildcard here is just a tag that the
   * superset must hold literally (or cover with its own wildcard).
   */
  missingFrom(superset: Label): string[] {
    const missing: string[] = [];
    if (this.#tags.length === 0 || superset.hasWildcard()) return missing;
    for (const tag of this.#tags) if (!superset.has(tag)) missing.push(tag);
    return missing;
  }

  check(superset: Label): SubsetCheck {
    const missing = this.missingFrom(superset);
    return { ok: missing.length === 0, missing };
  }

  isSubsetOf(superset: Label): boolean {
    return this.missingFrom(superset).length === 0;
  }

  union(other: Label): Label {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    return Label.of([...this.#tags, ...other.#tags]);
  }

  intersect(other: Label): Label {
    return Label.of(this.#tags.filter((tag) => other.has(tag)));
  }

  /**
   * Greatest lower bound where a wildcard label means "every tag": used to
   * combine the integrity of data pieces, so a piece labelled `*` does not
   * erase the trust of the piece it is combined with.
   */
  meet(other: Label): Label {
    if (this.hasWildcard() && other.hasWildcard()) return this.intersect(other).union(Label.of([WILDCARD]));
    if (this.hasWildcard()) return other;
    if (other.hasWildcard()) return this;
    return this.intersect(other);
  }

  without(tags: Iterable<string>): Label {
    const drop = new Set(tags);
    if (drop.size === 0) return this;
    return Label.of(this.#tags.filter((tag) => !drop.has(tag)));
  }

  equals(other: Label): boolean {
    return this.#tags.length === other.#tags.length && this.#tags.every((tag, i) => tag === other.#tags[i]);
  }

  /** A fresh, mutable copy: callers put it in JSON they own. */
  toArray(): string[] {
    return [...this.#tags];
  }

  toJSON(): string[] {
    return this.toArray();
  }

  toString(): string {
    return formatTags(this.#tags);
  }
}

/** `[a, b]`: the form reasons use for tag lists. */
export function formatTags(tags: readonly string[]): string {
  return `[${tags.join(', ')}]`;
}

export type LabelsLike = Partial<LabelsJson> | Labels;
export type ResourceLabelsLike = Partial<ResourceLabelsJson> | Labels;

/** A secrecy/integrity pair, with the description resources carry. */
export class Labels {
  static readonly EMPTY: Labels = new Labels(Label.EMPTY, Label.EMPTY);

  /** Built at first use (private fields stay writable on a frozen object). */
  #key: string | undefined;

  constructor(
    readonly secrecy: Label,
    readonly integrity: Label,
    readonly description?: string,
  ) {
    Object.freeze(this);
  }

  static of(value?: LabelsLike | ResourceLabelsLike | null): Labels {
    if (value instanceof Labels) return value;
    if (value === undefined || value === null) return Labels.EMPTY;
    const description = 'description' in value && typeof value.description === 'string' ? value.description : undefined;
    return new Labels(Label.of(value.secrecy), Label.of(value.integrity), description);
  }

  withDescription(description: string | undefined): Labels {
    return description === this.description ? this : new Labels(this.secrecy, this.integrity, description);
  }

  /**
   * The label of data made of both parts: secret if either is (union of
   * secrecy), trusted only as far as both are (meet of integrity).
   */
  combine(other: Labels): Labels {
    return new Labels(this.secrecy.union(other.secrecy), this.integrity.meet(other.integrity), this.description);
  }

  equals(other: Labels): boolean {
    return this.secrecy.equals(other.secrecy) && this.integrity.equals(other.integrity);
  }

  /**
   * The label set as a string, equal for equal labels whatever the
   * description: tags are normalised (sorted, unique) and never hold NUL or
   * SOH. Response checks group a list's items by it.
   */
  get key(): string {
    return (this.#key ??= `${this.secrecy.tags.join('\0')}\u0001${this.integrity.tags.join('\0')}`);
  }

  toJSON(): ResourceLabelsJson {
    const labels = { secrecy: this.secrecy.toArray(), integrity: this.integrity.toArray() };
    return this.description === undefined ? labels : { description: this.description, ...labels };
  }

  /** Agent labels carry no description. */
  toLabelsJson(): LabelsJson {
    return { secrecy: this.secrecy.toArray(), integrity: this.integrity.toArray() };
  }
}
