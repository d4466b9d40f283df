// Which registry an image comes from, and which stored credential (if any) pulls it.
import type { Credential } from './store/records.js';

const DOCKER_HUB = 'docker.io';

/** "https://index.docker.io/v1/" -> "docker.io"; "registry.example.com:5000/" -> "registry.example.com:5000". */
export function normalizeRegistry(address: string): string {
  const host =
    address
      .trim()
      .replace(/^[a-z]+:\/\//i, '')
      .split('/')[0]
      ?.toLowerCase() ?? '';
  if (host === '' || host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com') return DOCKER_HUB;
  return host;
}

/** Docker's rule: the first path component is a registry when it has a dot or a port, or is localhost. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = image.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return normalizeRegistry(first);
  return DOCKER_HUB;
}

export function dockerAuthFor(image: string, creds: readonly Credential[]): Readonly<Record<string, string>> | undefined {
  const registry = registryOf(image);
  return creds.find((c) => c.serverAddress === registry)?.auth;
}
