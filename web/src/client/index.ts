export * from './frames';
export * from './urls';
export * from './backoff';
export * from './LogStreamClient';
export * from './LogBuffer';
export * from './parse';
export * from './socketTimers';
