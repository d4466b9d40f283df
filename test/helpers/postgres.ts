// A throwaway PostgreSQL cluster for tests: the one implementation lives in bench/lib/postgres.ts (the
// fleet benchmark runs replicas on it too, and bench is built without test/), re-exported here so
// tests import helpers from one place.
export { postgresBinDir, startPostgres, type Postgres } from '../../bench/lib/postgres.js';
