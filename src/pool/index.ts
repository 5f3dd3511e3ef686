export { GuardPool, type PoolCall, type PoolOptions, type PoolResult, type PoolState } from './guard-pool.js';
export type { PoolObserver, EvictionReason } from './observer.js';
export { WorkerHost, type BackendHandler } from './worker-host.js';
