export { default, fileSinkClass, fileSinkConfig, type FileSink } from '../shared/file-sink.ts';
