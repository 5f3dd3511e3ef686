/**
 * Waits (bounded: 20 s) until /readyz answers 200. On a loaded machine a
 * service that just started can shed load for a moment while its event loop
 * catches up; tests that are not about load shedding wait for that to pass.
 */
export async function untilReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url}/readyz`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready within 20 s`);
}
