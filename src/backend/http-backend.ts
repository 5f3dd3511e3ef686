import { BackendCallError, type Backend } from './backend.js';
import { readLimited } from './limited-body.js';
import { dropBody, type BackendTransport } from './transport.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A plain HTTP backend: POST {"tool": ..., "args": ...} to the configured
 * URL; a 2xx JSON reply is handed to the guard byte for byte.
 */
export class HttpBackend implements Backend {
  constructor(readonly transport: BackendTransport) {}

  async call(tool: string, argsJson: string, signal: AbortSignal): Promise<Uint8Array> {
    let args: unknown;
    try {
      args = JSON.parse(argsJson);
    } catch {
      throw new BackendCallError('error', 'the guard passed arguments that are not JSON');
    }
    const response = await this.transport.request(
      'POST',
      { 'content-type': 'application/json', accept: 'application/json' },
      JSON.stringify({ tool, args }),
      signal,
    );
    if (response.status < 200 || response.status > 299) {
      dropBody(response.body);
      throw new BackendCallError('error', `HTTP ${response.status}`, { status: response.status });
    }
    const bytes = await readLimited(response.body, this.transport.maxResponseBytes);
    try {
      JSON.parse(utf8.decode(bytes));
    } catch {
      throw new BackendCallError('error', 'the reply is not UTF-8 JSON', { status: response.status, bytes: bytes.length });
    }
    return bytes;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
