/** The "[Filtered] …" notice, worded as the compatible gateway words it (internal/server/difc_log.go). */
import { describe, expect, it } from 'vitest';
import { filteredNotice, NOTICE_MAX_NAMED } from '../../src/difc/notice.js';
import type { FilteredItem } from '../../src/difc/response.js';

const entry = (description: string | undefined, secrecy: boolean, reason = `why ${description}`): FilteredItem => ({
  path: '/items/0',
  reason,
  secrecy_violation: secrecy,
  integrity_violation: !secrecy,
  ...(description === undefined ? {} : { description }),
});

describe('filteredNotice', () => {
  it('is absent when nothing was withheld', () => {
    expect(filteredNotice('allow', [], false)).toBeUndefined();
  });

  it('names up to five items with description and reason, and the policy that removed them', () => {
    expect(filteredNotice('allow', [entry('issue o/r#8', false)], false)).toBe(
      '[Filtered] 1 item(s) in this response were removed by integrity policy and are not shown: issue o/r#8 (why issue o/r#8).',
    );
    expect(filteredNotice('allow', [entry('repo o/a', true), entry('repo o/b', true)], false)).toBe(
      '[Filtered] 2 item(s) in this response were removed by secrecy policy and are not shown: repo o/a (why repo o/a); repo o/b (why repo o/b).',
    );
    expect(filteredNotice('allow', [entry('a', true), entry('b', false)], false)).toMatch(/^\[Filtered\] 2 item\(s\) in this response were removed by access policy/);
  });

  it('gives the count alone past five items', () => {
    const many = Array.from({ length: NOTICE_MAX_NAMED + 1 }, (_, i) => entry(`issue #${i}`, false));
    expect(filteredNotice('allow', many, false)).toBe('[Filtered] 6 item(s) in this response were removed by integrity policy and are not shown.');
  });

  it('says a single result withheld whole exists but is not accessible', () => {
    expect(filteredNotice('deny', [entry('issue o/r#8', false, 'lacks approved')], true)).toBe(
      '[Filtered] issue o/r#8 exists but is not accessible — filtered by integrity policy (lacks approved)',
    );
    expect(filteredNotice('deny', [entry(undefined, true, 'lacks private')], true)).toBe(
      '[Filtered] resource exists but is not accessible — filtered by secrecy policy (lacks private)',
    );
    // A strict denial of a collection is not a withheld item.
    expect(filteredNotice('deny', [entry('a', false), entry('b', false)], false)).toBeUndefined();
  });
});
