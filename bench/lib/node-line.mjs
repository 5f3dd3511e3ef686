/**
 * The Node.js line the bench runs on. The service's numbers move with V8 (Node 26 parses and
 * writes JSON about twice as fast as Node 22), so a run on a line CI does not test measures a
 * service nobody ships: the bench refuses it and says how to get a supported one.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The majors of package.json's engines range (`^22.13.0 || ^24.0.0 || ...`). */
export function supportedMajors(enginesRange) {
  return enginesRange.split('||').map((part) => {
    const m = /^\s*\^(\d+)\.\d+\.\d+\s*$/.exec(part);
    if (!m) throw new Error(`engines.node alternative "${part.trim()}" is not of the form ^N.x.y (one caret range per supported line)`);
    return Number(m[1]);
  });
}

/** The major of the Docker image's node (the line the container ships), as .ci/node-lts.sh reads it from the Dockerfile. */
function imageMajor(root) {
  try {
    return Number(execFileSync('bash', [join(root, '.ci', 'node-lts.sh'), '--major'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return undefined;
  }
}

/** `refusal`: why the bench must not run on `version`; else `note`: the sentence naming its line in the results. */
export function checkNodeLine(version, root) {
  const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;
  const majors = supportedMajors(engines);
  const image = imageMajor(root);
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  const shipped = image === undefined || Number.isNaN(image) ? '' : `; the Docker image runs Node ${image}`;
  if (!majors.includes(major)) {
    return {
      refusal:
        `node ${version} is not a supported line (${majors.join(', ')}: package.json engines)${shipped}. ` +
        `Run the bench on one of them, e.g. PATH="$(bash .ci/node-lts.sh)":$PATH npm run bench (the image's line), or set BENCH_ANY_NODE=1 to measure anyway.`,
    };
  }
  return { note: `Node ${version}, a supported line (${majors.join(', ')})${image === major ? ', the one the Docker image runs' : shipped}` };
}
