export * from './useLogStreams';
export * from './useUnifiedLogStream';
