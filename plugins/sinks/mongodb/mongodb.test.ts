import { mongoSuite } from './suite.ts';

let n = 0;
mongoSuite(
  'embedded store',
  () => ({ type: 'mongodb', url: 'embedded' }),
  () => `c_${process.pid}_${n++}`,
);
