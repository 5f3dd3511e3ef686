/** A tiny HTTP client for set-up calls (not for load): one connection per request, JSON in and out. */
import http from 'node:http';

export function request(method, url, body, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent: false,
        timeout: timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** POST a JSON body and return the parsed reply; throws unless the status is 2xx. */
export async function postJson(url, body) {
  const res = await request('POST', url, body);
  if (res.status < 200 || res.status >= 300) throw new Error(`POST ${url} → ${res.status}: ${res.text.slice(0, 500)}`);
  return res.json;
}
