// A heartbeat's `runner` self-report (docs/protocol.md) read into the store's InstanceReport. The
// body schema (src/protocol/schemas.ts) already refused wrong types and oversized strings with a
// 400; this reads the fields again on their own terms, so the handler never trusts the schema alone.
import { MAX_RUNNER_SLOTS, MAX_RUNNER_TEXT } from '../protocol/limits.js';
import { badRequest } from './http/errors.js';
import type { InstanceReport } from './store/records.js';
import { optBool, optNumber, optString } from './validate.js';

/** Bytes of a report's text field: MAX_RUNNER_TEXT characters of any width. */
const TEXT_BYTES = MAX_RUNNER_TEXT * 4;

/** undefined when the heartbeat carries no report (older runners). */
export function readRunnerReport(body: Record<string, unknown>, clusterId: string, instanceId: string): InstanceReport | undefined {
  const raw = body['runner'];
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('runner must be an object');
  const o = raw as Record<string, unknown>;
  const slotsTotal = optNumber(o, 'slots_total', 0, MAX_RUNNER_SLOTS);
  const slotsBusy = optNumber(o, 'slots_busy', 0, MAX_RUNNER_SLOTS);
  if (slotsTotal === undefined || slotsBusy === undefined) throw badRequest('runner needs slots_total and slots_busy');
  const startedAt = Date.parse(optString(o, 'started_at', 64) ?? '');
  return {
    clusterId,
    instanceId,
    hostname: optString(o, 'hostname', TEXT_BYTES) ?? '',
    version: optString(o, 'version', TEXT_BYTES) ?? '',
    slotsTotal,
    slotsBusy,
    draining: optBool(o, 'draining') ?? false,
    engineVersion: optString(o, 'engine_version', TEXT_BYTES) ?? '',
    startedAt: Number.isFinite(startedAt) ? startedAt : null,
  };
}
