/**
 * An incremental parser for text/event-stream (the WHATWG "server-sent
 * events" format): feed it bytes as they arrive, get the complete events.
 * Only what an MCP client needs: `event`, `data`, `id`; `retry` and comments
 * are ignored.
 */
export interface SseEvent {
  /** The `event` field; absent means "message". */
  event?: string;
  data: string;
  id?: string;
}

export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  /** Pieces of the line not yet ended (kept apart so a long line costs O(n), not O(n²)). */
  #partial: string[] = [];
  /** The last chunk ended with CR: a LF starting the next one belongs to it. */
  #afterCr = false;
  #event: string | undefined;
  #data: string[] = [];
  #id: string | undefined;

  /** Parses another chunk; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.#scan(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The stream ended: an event without its closing blank line is dropped, as the format says. */
  end(): SseEvent[] {
    const events = this.#scan(this.#decoder.decode());
    this.#partial = [];
    this.#data = [];
    this.#event = undefined;
    return events;
  }

  #scan(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#afterCr && text.startsWith('\n')) start = 1;
    if (text.length > 0) this.#afterCr = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#partial.push(text.slice(start, i));
      const line = this.#partial.join('');
      this.#partial = [];
      const event = this.#line(line);
      if (event) events.push(event);
      if (c === 13) {
        if (i + 1 === text.length) this.#afterCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    if (start < text.length) this.#partial.push(text.slice(start));
    return events;
  }
  #line(line: string): SseEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.#id = value;
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const data = this.#data;
    const event = this.#event;
    this.#data = [];
    this.#event = undefined;
    if (data.length === 0) return undefined;
    const out: SseEvent = { data: data.join('\n') };
    if (event !== undefined && event !== '') out.event = event;
    if (this.#id !== undefined) out.id = this.#id;
    return out;
  }
}
