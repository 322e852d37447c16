import { postgresSuite } from './suite.ts';

postgresSuite('embedded PGlite', () => ({ type: 'postgres', url: 'embedded' }));
