// Used only when the pool runs from TypeScript sources (tests): registers tsx
// in the worker thread before loading the real worker module.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.workerEntry);
