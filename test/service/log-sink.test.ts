/**
 * The bounded asynchronous log sink, on a real pipe (a FIFO) that nobody
 * reads: writing never blocks, lines past the buffer are dropped and
 * counted, and flushing gives up after its bound.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogSink } from '../../src/service/log-sink.js';

const fds: number[] = [];
const readers: ChildProcess[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const reader of readers.splice(0)) reader.kill();
});

/** The write end of a pipe whose read end is open but never read. */
function stuckPipe(): number {
  const path = join(mkdtempSync(join(tmpdir(), 'wasmguard-log-')), 'fifo');
  execFileSync('mkfifo', [path]);
  // Both ends stay open for the rest of this test file's process: the sink keeps retrying its write,
  // and closing the pipe under it would turn the retry into an EBADF error.
  openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
}

/** The write end of a pipe that a child process reads to the end. */
function readPipe(): number {
  const path = join(mkdtempSync(join(tmpdir(), 'wasmguard-log-')), 'fifo');
  execFileSync('mkfifo', [path]);
  const reader = spawn('cat', [path], { stdio: 'ignore' });
  readers.push(reader);
  const fd = openSync(path, constants.O_WRONLY);
  fds.push(fd);
  return fd;
}

describe('log sink', () => {
  it('never blocks on a stuck reader: lines past the buffer are dropped and counted', async () => {
    const sink = createLogSink({ fd: stuckPipe(), maxBufferBytes: 256 * 1024 });
    const logger = pino({ base: null }, sink.stream);
    const line = 'x'.repeat(1000);
    for (let i = 0; i < 5000; i++) logger.info({ i }, line);
    // 5000 lines of about 1 KB into a 64 KiB pipe and a 256 KiB buffer: most are dropped, none waited for.
    expect(sink.dropped()).toBeGreaterThan(4000);
    expect(sink.dropped()).toBeLessThan(5000);
    expect(await sink.flush(200)).toBe(false);
  });

  it('flushes everything to a reader that reads', async () => {
    const sink = createLogSink({ fd: readPipe() });
    const logger = pino({ base: null }, sink.stream);
    logger.info('one line');
    expect(sink.dropped()).toBe(0);
    expect(await sink.flush(2000)).toBe(true);
  });
});
