// The compat suite (test/server/compat.test.ts) against the PostgreSQL store.
import { useStore } from '../../helpers/test-store.js';

useStore('postgres');
await import('../compat.test.js');
