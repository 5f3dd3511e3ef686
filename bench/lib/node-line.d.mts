// Types of node-line.mjs (the bench is plain JS), for the test that holds it to package.json's engines.
export function supportedMajors(enginesRange: string): number[];
export function checkNodeLine(version: string, root: string): { refusal?: string; note?: string };
