// Free TCP ports for tests: the one implementation lives in bench/lib/ports.ts (bench is built without
// test/, and the tests already import bench/lib), re-exported here so tests import helpers from one place.
export { freePort } from '../../bench/lib/ports.js';
