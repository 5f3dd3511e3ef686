// Preloaded into the service process (node --import) by the signal tests: it
// records every JS listener ever added for a synchronous fault signal, for the
// whole life of the process, and prints them on stderr as the process exits.
// It adds no signal listener of its own.
const FAULT_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL']);
const added = [];
process.on('newListener', (event) => {
  if (FAULT_SIGNALS.has(event)) added.push(event);
});
process.on('exit', () => {
  const now = [...FAULT_SIGNALS].filter((s) => process.listenerCount(s) > 0);
  process.stderr.write(`signal-probe ${JSON.stringify({ added, now })}\n`);
});
