/**
 * The API's routes, as opposed to probes, metrics and the OpenAPI document:
 * they need a token when authentication is on (docs/contract.md §8), and
 * they are the ones refused while draining or overloaded (the open routes
 * keep answering, so a load balancer and a scraper can see why).
 */
export function isApiRoute(url: string): boolean {
  return url.startsWith('/v1/') || url === '/v1' || url.startsWith('/access/v1/') || url === '/access/v1';
}
