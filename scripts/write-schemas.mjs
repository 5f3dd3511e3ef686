// Regenerates schemas/wasmguard-cases.schema.json from the built case-file schema (dist/): `npm run schemas` builds first.
import { writeFileSync } from 'node:fs';
import { CASE_SCHEMA_PATH, caseFileJsonSchema } from '../dist/cli/case-file.js';

writeFileSync(CASE_SCHEMA_PATH, caseFileJsonSchema());
process.stdout.write(`wrote ${CASE_SCHEMA_PATH}\n`);
