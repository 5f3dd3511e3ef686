export { GuardPool, type PoolCall, type PoolOptions, type PoolResult, type PoolState } from './guard-pool.js';
export type { PoolObserver, EvictionReason } from './observer.js';
export type { BackendHandler } from './worker-host.js';
