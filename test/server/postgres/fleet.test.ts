// The fleet suite (test/server/fleet.test.ts) against the PostgreSQL store.
import { useStore } from '../../helpers/test-store.js';

useStore('postgres');
await import('../fleet.test.js');
