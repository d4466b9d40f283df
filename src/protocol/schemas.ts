// JSON Schemas (draft-07, plain objects) of the runner requests, for an HTTP layer that validates
// bodies before the handler runs. They say what the handlers in src/server/routes/runner.ts accept:
// unknown fields are allowed (clients send extras), `null` means "not set" on optional fields, and
// types are exact (a validator must not coerce "5" to 5). Limits in bytes are checked again by the
// handlers; a schema can only bound characters.
import { EXIT_CODE_RANGE, MAX_FINISH_LOG_BYTES, MAX_HEARTBEAT_TASKS, MAX_LOG_OFFSET_DIGITS, MAX_RESERVE_N, MAX_RESERVE_WAIT_S, MAX_RUNNER_SLOTS, MAX_RUNNER_TEXT, MAX_TIMEOUT_S } from './limits.js';
import { FINISH_STATUSES } from './statuses.js';

const instanceId = { type: 'string', minLength: 1 } as const;
const reservationId = { type: 'string', minLength: 1 } as const;
const warmCursor = { type: ['string', 'null'] } as const;

export const reserveBodySchema = {
  $id: 'iron.runner.reserve',
  type: 'object',
  required: ['instance_id'],
  properties: {
    instance_id: instanceId,
    n: { type: ['integer', 'null'], minimum: 1, maximum: MAX_RESERVE_N },
    wait: { type: ['number', 'null'], minimum: 0, maximum: MAX_RESERVE_WAIT_S },
    warm_cursor: warmCursor,
  },
} as const;

export const releaseBodySchema = {
  $id: 'iron.runner.release',
  type: 'object',
  required: ['instance_id'],
  properties: { instance_id: instanceId },
} as const;

const runnerText = { type: 'string', maxLength: MAX_RUNNER_TEXT } as const;
const slots = { type: 'integer', minimum: 0, maximum: MAX_RUNNER_SLOTS } as const;

/** A heartbeat's self-report (RunnerReport): all of it or none; `null` means none. */
const runnerReport = {
  type: ['object', 'null'],
  required: ['hostname', 'version', 'slots_total', 'slots_busy', 'draining', 'engine_version', 'started_at'],
  properties: {
    hostname: runnerText,
    version: runnerText,
    slots_total: slots,
    slots_busy: slots,
    draining: { type: 'boolean' },
    engine_version: runnerText,
    started_at: { type: 'string', maxLength: 64 },
  },
} as const;

export const heartbeatBodySchema = {
  $id: 'iron.runner.heartbeat',
  type: 'object',
  required: ['instance_id'],
  properties: {
    instance_id: instanceId,
    tasks: {
      type: ['array', 'null'],
      maxItems: MAX_HEARTBEAT_TASKS,
      items: {
        type: 'object',
        required: ['id', 'reservation_id'],
        properties: {
          id: { type: 'string', pattern: '^[0-9a-f]{24}$' },
          reservation_id: { type: 'string', minLength: 1 },
        },
      },
    },
    warm_cursor: warmCursor,
    runner: runnerReport,
  },
} as const;

export const startBodySchema = {
  $id: 'iron.runner.start',
  type: 'object',
  required: ['reservation_id'],
  properties: { reservation_id: reservationId },
} as const;

/** The query string of a log append (values are strings; the body is the raw chunk). */
export const logAppendQuerySchema = {
  $id: 'iron.runner.log-append-query',
  type: 'object',
  required: ['offset', 'reservation_id'],
  properties: {
    offset: { type: 'string', pattern: `^[0-9]{1,${MAX_LOG_OFFSET_DIGITS}}$` },
    reservation_id: { type: 'string', minLength: 1 },
  },
} as const;

const finishProperties = {
  reservation_id: reservationId,
  status: { type: 'string', enum: FINISH_STATUSES },
  exit_code: { type: ['integer', 'null'], minimum: EXIT_CODE_RANGE.min, maximum: EXIT_CODE_RANGE.max },
  msg: { type: ['string', 'null'] },
  // Fractions are rounded up by the server (clients send float milliseconds).
  duration_ms: { type: ['number', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  log_size: { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  log_truncated: { type: ['boolean', 'null'] },
  usage: {
    type: ['object', 'null'],
    required: ['peak_memory', 'cpu_seconds'],
    properties: {
      peak_memory: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      cpu_seconds: { type: 'number', minimum: 0, maximum: 1e12 },
    },
  },
} as const;

export const finishBodySchema = {
  $id: 'iron.runner.finish',
  type: 'object',
  required: ['reservation_id', 'status'],
  properties: finishProperties,
} as const;

/** A finish carrying the last output (finish-with-log): the finish's fields and a required log_tail. */
export const finishWithLogBodySchema = {
  $id: 'iron.runner.finish-with-log',
  type: 'object',
  required: ['reservation_id', 'status', 'log_tail'],
  properties: {
    ...finishProperties,
    log_tail: {
      type: 'object',
      required: ['offset', 'data'],
      additionalProperties: false,
      properties: {
        offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        // Padded base64 of at most MAX_FINISH_LOG_BYTES bytes.
        data: { type: 'string', maxLength: Math.ceil(MAX_FINISH_LOG_BYTES / 3) * 4, pattern: '^[A-Za-z0-9+/]*={0,2}$' },
      },
    },
  },
} as const;

/** A give-back: the finish a runner sends for a task it will not run (drain, transient failure). */
export const giveBackBodySchema = {
  $id: 'iron.runner.give-back',
  type: 'object',
  required: ['reservation_id', 'status'],
  properties: { ...finishProperties, status: { type: 'string', const: 'requeue' } },
} as const;

/** Every runner request schema by the route it belongs to (give-back shares the finish route). */
export const RUNNER_REQUEST_SCHEMAS = {
  'POST /2/clusters/:cid/runner/reserve': { body: reserveBodySchema },
  'POST /2/clusters/:cid/runner/release': { body: releaseBodySchema },
  'POST /2/clusters/:cid/runner/heartbeat': { body: heartbeatBodySchema },
  'POST /2/clusters/:cid/runner/tasks/:tid/start': { body: startBodySchema },
  'POST /2/clusters/:cid/runner/tasks/:tid/log': { querystring: logAppendQuerySchema },
  'POST /2/clusters/:cid/runner/tasks/:tid/finish': { body: finishBodySchema },
  'POST /2/clusters/:cid/runner/tasks/:tid/finish-with-log': { body: finishWithLogBodySchema },
} as const;

const warmImage = {
  type: 'object',
  required: ['image', 'project_id'],
  additionalProperties: false,
  properties: { image: { type: 'string', minLength: 1 }, project_id: { type: 'string' }, docker_auth: { type: 'object' } },
} as const;

/**
 * A reserve answer (ReserveResponse), for checking answers and the examples in docs/protocol.md. Not
 * a serialiser schema: a serialiser that drops what a schema does not name would cut fields older
 * clients read.
 */
export const reserveResponseSchema = {
  $id: 'iron.runner.reserve-response',
  type: 'object',
  required: ['tasks', 'heartbeat_interval_ms'],
  additionalProperties: false,
  properties: {
    heartbeat_interval_ms: { type: 'integer', minimum: 1 },
    idle_heartbeat_interval_ms: { type: 'integer', minimum: 1 },
    finish_log_max_bytes: { type: 'integer', minimum: 1, maximum: MAX_FINISH_LOG_BYTES },
    warm: { type: 'array', items: warmImage },
    warm_cursor: { type: 'string' },
    tasks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'project_id', 'code_name', 'image', 'command', 'env_vars', 'config', 'payload', 'timeout', 'priority', 'memory', 'disk', 'reservation_id', 'lease_expires_at', 'attempt'],
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          project_id: { type: 'string' },
          code_id: { type: 'string' },
          code_name: { type: 'string' },
          code_history_id: { type: 'string' },
          code_rev: { type: 'string' },
          cluster: { type: 'string' },
          image: { type: 'string' },
          command: { type: 'string' },
          env_vars: { type: 'object', additionalProperties: { type: 'string' } },
          config: { type: 'string' },
          payload: { type: 'string' },
          timeout: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_S },
          priority: { type: 'integer', minimum: 0, maximum: 2 },
          memory: { type: 'integer', minimum: 0 },
          disk: { type: 'integer', minimum: 0 },
          cpu_share: { type: 'integer', minimum: 0 },
          docker_auth: { type: 'object' },
          reservation_id: { type: 'string', minLength: 1 },
          lease_expires_at: { type: 'string', minLength: 1 },
          attempt: { type: 'integer', minimum: 1 },
          code_package: {
            type: 'object',
            required: ['rev', 'size', 'sha256'],
            additionalProperties: false,
            properties: { rev: { type: 'string' }, size: { type: 'integer', minimum: 0 }, sha256: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;
