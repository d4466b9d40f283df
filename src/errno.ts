// The one home of errno classification: which system (and undici) error codes mean "the peer could
// not be reached or dropped us" and so may succeed on a later attempt. Three callers ask three
// different questions of the same lists, so the questions live here too: is this failure transient
// (src/errors.ts), was the request never sent (src/api/http.ts repeats even a non-idempotent call
// then), and is the engine's socket simply not there yet (src/sandbox/engine-errors.ts).

/** The connection was never established: nothing reached the peer, so repeating cannot duplicate work. */
const NOT_CONNECTED = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'] as const;

/** The network failed on an established or establishing connection: the peer may or may not have acted. */
const NETWORK_DROPPED = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'] as const;

/** A local socket file that is missing or not ours yet: dockerd is still starting or its socket group is being set. */
const SOCKET_NOT_READY = ['ENOENT', 'EACCES'] as const;

const TRANSIENT: ReadonlySet<string> = new Set([...NOT_CONNECTED, ...NETWORK_DROPPED]);
const NEVER_SENT: ReadonlySet<string> = new Set(NOT_CONNECTED);
const ENGINE_UNREACHABLE: ReadonlySet<string> = new Set([...NOT_CONNECTED, ...NETWORK_DROPPED, ...SOCKET_NOT_READY]);

/** A network failure a later identical attempt may get past. */
export function isTransientErrno(code: unknown): boolean {
  return typeof code === 'string' && TRANSIENT.has(code);
}

/** The request cannot have reached the server (connect refused, name not resolved, connect timed out). */
export function isNeverSentErrno(code: unknown): boolean {
  return typeof code === 'string' && NEVER_SENT.has(code);
}

/** The container engine could not be reached over its socket, for a reason that may pass. */
export function isEngineUnreachableErrno(code: unknown): boolean {
  return typeof code === 'string' && ENGINE_UNREACHABLE.has(code);
}
