import { pino } from 'pino';

/** Log lines waiting for stdout past this many bytes are dropped (and counted), never waited for. */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The service's stdout: asynchronous and bounded, so a slow or stuck reader
 * of the log pipe can never stall request handling (with synchronous writes
 * the service stopped answering once the pipe was full: about 130 decision
 * lines). Lines that do not fit in the buffer are dropped and counted.
 */
export interface LogSink {
  stream: pino.DestinationStream;
  /** Lines dropped because the buffer was full. */
  dropped(): number;
  /**
   * Resolves true once everything written so far is out, false after
   * `timeoutMs` (a reader that never reads must not hold up the exit). Call
   * it right after writing a line: it waits for the writer to run dry.
   */
  flush(timeoutMs: number): Promise<boolean>;
}

export function createLogSink(options: { fd?: number; maxBufferBytes?: number } = {}): LogSink {
  const stream = pino.destination({ dest: options.fd ?? 1, sync: false, maxLength: options.maxBufferBytes ?? LOG_BUFFER_BYTES });
  let dropped = 0;
  stream.on('drop', () => dropped++);
  return {
    stream,
    dropped: () => dropped,
    flush: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          // pino flushes synchronously at exit; into a pipe nobody reads that would never return.
          stream.flushSync = () => {};
          resolve(false);
        }, timeoutMs);
        // sonic-boom's flush(cb) calls back at once when minLength is 0; its 'drain' comes when the buffer is empty.
        stream.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      }),
  };
}
