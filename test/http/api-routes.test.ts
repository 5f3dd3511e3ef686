import { describe, expect, it } from 'vitest';
import { isApiRoute } from '../../src/http/api-routes.js';

describe('isApiRoute', () => {
  it.each(['/v1', '/v1/evaluate', '/v1/sessions/abc', '/access/v1', '/access/v1/evaluation'])('%s is an API route', (url) => {
    expect(isApiRoute(url)).toBe(true);
  });

  it.each(['/healthz', '/readyz', '/metrics', '/openapi.json', '/v10/evaluate', '/v1x', '/access/v10', '/'])('%s is open', (url) => {
    expect(isApiRoute(url)).toBe(false);
  });
});
