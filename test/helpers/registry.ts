// The private registry the tests use (Debian's docker-registry with htpasswd + TLS on loopback, see
// bench/lib/registry.ts, shared with the pre-pull benchmark so both measure the same setup).
export { enginePull, startRegistry, startSilentRegistry, type RegistryUser, type TestRegistry } from '../../bench/lib/registry.js';
