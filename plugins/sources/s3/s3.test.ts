import { s3Suite } from './suite.ts';

let n = 0;
s3Suite('embedded folder', () => ({ type: 's3', endpoint: 'embedded' }), () => `bucket-${process.pid}-${n++}`);
