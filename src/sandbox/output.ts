// Demultiplexes Docker's attach stream (8-byte frame headers: stream id, 3 zero bytes, big-endian
// length) and hands each payload to the consumer, awaiting it: while the consumer is busy we do not
// read, the socket fills, dockerd blocks, and the job's write() blocks. Memory stays bounded by one
// socket read, however fast the job writes. Past maxLogBytes a marker is delivered once and further
// output is read and dropped, so the job keeps running instead of blocking on a full pipe.
import type { Readable } from 'node:stream';
import { formatSize } from '../config/units.js';
import type { OutputSink } from './types.js';

export interface OutputResult {
  logBytes: number;
  truncated: boolean;
  /** The first bytes of stderr (tini reports a failed exec there). */
  stderrHead: string;
}

const HEADER = 8;
const STDERR_HEAD_BYTES = 512;

export function truncationMarker(maxLogBytes: number): Buffer {
  return Buffer.from(`\n[iron-runner] log truncated: output exceeded ${formatSize(maxLogBytes)}; the task keeps running, further output is discarded\n`);
}

/** Largest prefix length <= n that does not split a UTF-8 sequence (a marker after half a character would garble both). */
export function utf8SafeCut(buf: Buffer, n: number): number {
  if (n >= buf.length) return buf.length;
  let i = n;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that straddles the cut.
  while (i > 0 && i > n - 4 && ((buf[i] ?? 0) & 0xc0) === 0x80) i--;
  return i;
}

export function newOutputResult(): OutputResult {
  return { logBytes: 0, truncated: false, stderrHead: '' };
}

/** Delivers the stream's frames; `state` is updated as it goes, so it is meaningful even if the stream is cut. */
export async function pumpOutput(stream: Readable, onOutput: OutputSink, maxLogBytes: number, state: OutputResult = newOutputResult()): Promise<OutputResult> {
  const deliver = async (payload: Buffer, kind: 'stdout' | 'stderr'): Promise<void> => {
    if (kind === 'stderr' && state.stderrHead.length < STDERR_HEAD_BYTES) {
      state.stderrHead += payload.subarray(0, STDERR_HEAD_BYTES - state.stderrHead.length).toString('latin1');
    }
    if (state.truncated) return;
    const room = maxLogBytes - state.logBytes;
    if (payload.length <= room) {
      state.logBytes += payload.length;
      await onOutput(payload, kind);
      return;
    }
    const cut = utf8SafeCut(payload, room);
    if (cut > 0) {
      state.logBytes += cut;
      await onOutput(payload.subarray(0, cut), kind);
    }
    state.truncated = true;
    const marker = truncationMarker(maxLogBytes);
    state.logBytes += marker.length;
    await onOutput(marker, 'stderr');
  };

  // Frames are delivered as they arrive, a frame split across reads in pieces: slices of the read
  // buffer, never a copy (joining reads cost two copies of every byte and a garbage buffer per read).
  const header = Buffer.alloc(HEADER);
  let headerHave = 0;
  let remaining = 0;
  let kind: 'stdout' | 'stderr' = 'stdout';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let i = 0;
    while (i < chunk.length) {
      if (remaining === 0) {
        const take = Math.min(HEADER - headerHave, chunk.length - i);
        chunk.copy(header, headerHave, i, i + take);
        headerHave += take;
        i += take;
        if (headerHave < HEADER) break;
        headerHave = 0;
        kind = header[0] === 2 ? 'stderr' : 'stdout';
        remaining = header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(remaining, chunk.length - i);
      await deliver(chunk.subarray(i, i + take), kind);
      remaining -= take;
      i += take;
    }
  }
  return state;
}
