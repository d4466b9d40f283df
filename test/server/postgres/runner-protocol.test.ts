// The runner-protocol suite (test/server/runner-protocol.test.ts) against the PostgreSQL store.
import { useStore } from '../../helpers/test-store.js';

useStore('postgres');
await import('../runner-protocol.test.js');
