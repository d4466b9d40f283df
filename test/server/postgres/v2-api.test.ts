// The v2-api suite (test/server/v2-api.test.ts) against the PostgreSQL store.
import { useStore } from '../../helpers/test-store.js';

useStore('postgres');
await import('../v2-api.test.js');
