// The log-attempts suite (test/server/log-attempts.test.ts) against the PostgreSQL store.
import { useStore } from '../../helpers/test-store.js';

useStore('postgres');
await import('../log-attempts.test.js');
