import type { Mismatch } from './expectations.js';
import type { CommandIo } from './io.js';

export interface CaseOutcome {
  file: string;
  name: string;
  ok: boolean;
  mismatches: Mismatch[];
  ms: number;
}

export interface Reporter {
  file(path: string): void;
  case(outcome: CaseOutcome): void;
  end(): void;
}

const indent = (text: string, by: string) => text.replace(/^/gm, by);

/** TAP version 13, as `node --test` writes it off a terminal: a YAML block with the diff under each failure. */
export function tapReporter(io: CommandIo): Reporter {
  let n = 0;
  let failed = 0;
  io.stdout('TAP version 13\n');
  return {
    file: (path) => io.stdout(`# ${path}\n`),
    case(o) {
      n++;
      if (o.ok) {
        io.stdout(`ok ${n} - ${o.name}\n`);
        return;
      }
      failed++;
      io.stdout(`not ok ${n} - ${o.name}\n  ---\n  file: ${JSON.stringify(o.file)}\n`);
      for (const m of o.mismatches) io.stdout(`  ${m.field}: |-\n${indent(m.diff, '    ')}\n`);
      io.stdout('  ...\n');
    },
    end: () => io.stdout(`1..${n}\n# tests ${n}\n# pass ${n - failed}\n# fail ${failed}\n`),
  };
}

/** A spec-like report for a terminal, as `node --test` prints there. */
export function specReporter(io: CommandIo): Reporter {
  const failures: CaseOutcome[] = [];
  let n = 0;
  return {
    file: (path) => io.stdout(`${path}\n`),
    case(o) {
      n++;
      io.stdout(`  ${o.ok ? '✔' : '✖'} ${o.name} (${o.ms.toFixed(1)}ms)\n`);
      if (!o.ok) failures.push(o);
    },
    end() {
      io.stdout(`\ntests ${n}\npass ${n - failures.length}\nfail ${failures.length}\n`);
      if (failures.length === 0) return;
      io.stdout('\nfailing tests:\n');
      for (const f of failures) {
        io.stdout(`\n✖ ${f.file}: ${f.name}\n`);
        for (const m of f.mismatches) io.stdout(`  ${m.field}:\n${indent(m.diff, '    ')}\n`);
      }
    },
  };
}
