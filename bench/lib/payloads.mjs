/** Request bodies of the scenarios: what a gateway sends around GitHub MCP tool calls. */

// octo-org/app is public by the policy's word: the github guard never takes visibility from tool arguments.
export const GITHUB_POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };
export const RUST_POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'none' } };

/** A cheap label_resource: a repository the policy declares public, so no backend lookup. */
export const GET_ISSUE_ARGS = { owner: 'octo-org', repo: 'app', issue_number: 42 };

// The shape and size of a real /v1/evaluate reply (github guard, read needing a response check).
export const DECISION = {
  decision_id: '8c195b83-8bb6-4c0d-a665-5994df20f151',
  decision: 'allow',
  operation: 'read',
  resource: { secrecy: [], integrity: [], description: 'repo octo-org/app' },
  check_response: true,
  mode: 'filter',
  guard_digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
  agent: { secrecy: [], integrity: ['unapproved:github', 'approved:github'] },
  reason:
    "read of 'repo octo-org/app' needs a per-item response check: resource integrity lacks [approved:github, unapproved:github] (agent integrity must be a subset of resource integrity)",
};

export const LIST_ISSUES_ARGS = { owner: 'octo-org', repo: 'app', state: 'open', per_page: 100 };

// Mixed authors: OWNER/MEMBER/COLLABORATOR reach "approved" and stay; the others are filtered out for an agent
// whose policy requires approved integrity.
const ASSOCIATIONS = ['MEMBER', 'NONE', 'CONTRIBUTOR', 'OWNER', 'COLLABORATOR', 'FIRST_TIME_CONTRIBUTOR', 'MEMBER', 'NONE'];

function issue(n) {
  const login = `user${n % 17}`;
  return {
    url: `https://api.github.com/repos/octo-org/app/issues/${n}`,
    repository_url: 'https://api.github.com/repos/octo-org/app',
    html_url: `https://github.com/octo-org/app/issues/${n}`,
    id: 2000000000 + n,
    number: n,
    title: `Issue ${n}: flaky test in the payment module when the cache is cold`,
    user: { login, id: 1000 + (n % 17), type: 'User', site_admin: false },
    labels: n % 3 === 0 ? [{ id: 7, name: 'bug', color: 'd73a4a', default: true }] : [],
    state: 'open',
    locked: false,
    assignee: null,
    comments: n % 5,
    created_at: '2025-01-15T10:00:00Z',
    updated_at: '2025-02-01T12:30:00Z',
    author_association: ASSOCIATIONS[n % ASSOCIATIONS.length],
    body: `Steps to reproduce ${n}: run the suite twice; the second run fails about one time in ten.`,
  };
}

/** list_issues result in MCP text form, as the GitHub MCP server returns it. */
export function listIssuesResult(count = 100) {
  const issues = Array.from({ length: count }, (_, i) => issue(i + 1));
  return { content: [{ type: 'text', text: JSON.stringify(issues) }] };
}
