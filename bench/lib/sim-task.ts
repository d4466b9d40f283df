// What a simulated task sends (the fleet's runners and the cost loop): two log chunks of 100 bytes and
// a finish, the second chunk in the finish when the API offers finish-with-log (as the real runner
// sends its last output).
export const CHUNK = Buffer.from(`${'x'.repeat(99)}\n`);
const CHUNK_BASE64 = CHUNK.toString('base64');

/** Whether a reserve answer offers room for the second chunk in the finish. */
export function tailOffered(answer: Record<string, unknown>): boolean {
  const room = answer['finish_log_max_bytes'];
  return typeof room === 'number' && room >= CHUNK.length;
}

/** The finish of a completed simulated task: the path after `tasks/{id}/`, and the JSON body. */
export function simFinish(reservationId: string, durationMs: number, tail: boolean): { action: 'finish' | 'finish-with-log'; body: string } {
  const body = JSON.stringify({
    reservation_id: reservationId,
    status: 'complete',
    exit_code: 0,
    duration_ms: durationMs,
    log_size: 2 * CHUNK.length,
    ...(tail ? { log_tail: { offset: CHUNK.length, data: CHUNK_BASE64 } } : {}),
  });
  return { action: tail ? 'finish-with-log' : 'finish', body };
}
