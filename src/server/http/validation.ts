// JSON Schema validation of requests (the protocol's schemas, attached per route). A failure is a
// 400 ERR_SERVER_BAD_REQUEST `{"msg"}` naming the part and the first rule it broke; never the value
// (a payload or token must not echo back into a response or a log).
import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { IronError } from '../../errors.js';

/**
 * ajv checks and never rewrites: no type coercion, no defaults filled in, no properties removed.
 * fastify's defaults do all three, which would hand a handler a different body than the client sent;
 * handlers parse the request themselves, so a schema can only refuse, never change, behaviour.
 */
/** The request part that failed (fastify's `SchemaErrorDataVar`, which it does not export). */
type Part = 'body' | 'headers' | 'params' | 'querystring';

export const AJV_OPTIONS = { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false } as const;

/** fastify's `schemaErrorFormatter`: its validation errors become ours (fastify adds `validation`). */
export function schemaError(errors: readonly FastifySchemaValidationError[], part: Part): IronError {
  const first = errors[0];
  const where = `${part}${first?.instancePath ?? ''}`;
  return new IronError('ERR_SERVER_BAD_REQUEST', `invalid request: ${where} ${first?.message ?? 'is invalid'}`, {
    details: { part, ...(first === undefined ? {} : { rule: first.keyword }) },
  });
}

/**
 * The body check of a route with a body schema, run by `ctx.json()` once the handler has read the
 * body (bodies are read lazily, after auth). Compiled once per route by fastify's ajv, with the
 * options above.
 */
export function bodyValidator(request: FastifyRequest, schema: object): (body: Record<string, unknown>) => void {
  return (body) => {
    const validate = request.compileValidationSchema(schema, 'body');
    if (validate(body) !== true) throw schemaError((validate.errors ?? []) as FastifySchemaValidationError[], 'body');
  };
}
