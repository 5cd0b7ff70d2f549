export * from './lease-size.js';
export * from './local-day.js';
export * from './target-curve.js';
export * from './throttle.js';
export * from './local-lease.js';
export * from './traffic.js';
