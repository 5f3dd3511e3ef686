// Regenerates openapi/openapi.json from the built app (dist/): `npm run openapi` builds first.
import { writeOpenApi } from '../dist/http/openapi-file.js';

const path = await writeOpenApi();
process.stdout.write(`wrote ${path}\n`);
