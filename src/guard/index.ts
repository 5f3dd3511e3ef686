export * from './errors.js';
export { CompilationCache, type CompiledGuard, type CompilationCacheStats, type LoadOptions } from './compilation-cache.js';
export { GuardInstance, type InstanceOptions, type InstanceObserver, type InstanceSource } from './instance.js';
export { DEFAULT_LIMITS, resolveLimits, type GuardLimits } from './limits.js';
export { GUARD_DEFAULTS, defaultMaxQueue } from './defaults.js';
export type { BackendCaller, BackendReply } from './host/backend.js';
export type { GuardLogger } from './logger.js';
export * from './guard-json.js';
