// Display helpers: pure functions of API values (unit-tested in test/hud/format.test.ts).

export function fmtTime(iso: unknown): string {
  if (typeof iso !== 'string' || iso === '' || iso.startsWith('0001-')) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function fmtBytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Task durations are milliseconds in the v2 API. */
export function fmtDuration(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A local datetime-local input value as unix seconds (the API's from_time/to_time), or undefined. */
export function unixOf(local: string): number | undefined {
  if (local === '') return undefined;
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

const MIN_CIPHERTEXT_BYTES = 2048 / 8 + 28;

/**
 * The size of an encrypted payload, or undefined for a plain one. The API does not know which
 * clusters take encrypted payloads (the client encrypts, the runner decrypts), so this goes by the
 * shape ironcli's encryption produces: strict padded base64 of at least an RSA-2048 block, a GCM tag
 * and a nonce, that is not itself JSON. The HUD never decrypts, and shows only the size.
 */
export function encryptedSize(payload: string): number | undefined {
  if (payload.length < (MIN_CIPHERTEXT_BYTES * 4) / 3 || payload.length % 4 !== 0) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(payload)) return undefined;
  const pad = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
  return (payload.length / 4) * 3 - pad;
}
