/**
 * Shapes shared by the DIFC monitor and the guard runtime. The guard runtime
 * parses guard JSON into these; the DIFC monitor decides on them. Both sides
 * import from here so neither owns the other's vocabulary.
 */

/** Labels as they travel in JSON: tag arrays, not yet normalised. */
export interface LabelsJson {
  secrecy: string[];
  integrity: string[];
}

/** Resource labels from label_resource / label_response. */
export interface ResourceLabelsJson extends LabelsJson {
  description?: string;
}

export type Operation = 'read' | 'write' | 'read-write';
export type Mode = 'strict' | 'filter' | 'propagate';

export const OPERATIONS: readonly Operation[] = ['read', 'write', 'read-write'];
export const MODES: readonly Mode[] = ['strict', 'filter', 'propagate'];

/** label_response output, parsed: one of the three forms of docs/contract.md §2. */
export type ResponseLabelling =
  | { kind: 'none' }
  | {
      kind: 'paths';
      labeledPaths: Array<{ path: string; labels: ResourceLabelsJson }>;
      defaultLabels?: ResourceLabelsJson;
      /** RFC 6901 pointer to the collection; "" is the root array; absent = single result. */
      itemsPath?: string;
    }
  | { kind: 'items'; items: Array<{ data: unknown; labels: ResourceLabelsJson }> };
