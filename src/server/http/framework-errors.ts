// fastify's own refusals in Iron's terms, so that they get the same statuses and `{"msg"}` bodies
// as the handlers' errors (fastify's default body is {"statusCode","error","message"}, and Iron
// clients read `msg`). Schema validation errors are IronErrors already (see validation.ts).
import { IronError } from '../../errors.js';

const NOT_FOUND = 'Invalid endpoint';

export function fromFramework(err: unknown): unknown {
  if (err instanceof IronError || !(err instanceof Error)) return err;
  const { code, statusCode } = err as Error & { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return err;
  switch (code) {
    // A path with broken percent-encoding or a huge segment names no route (the old router's 404).
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new IronError('ERR_SERVER_NOT_FOUND', NOT_FOUND, { cause: err });
    default:
      // Any other refusal of a request fastify makes (4xx) is a bad request; its 5xx stay internal.
      if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
        return new IronError('ERR_SERVER_BAD_REQUEST', err.message, { cause: err });
      }
      return err;
  }
}

export const invalidEndpoint = (): IronError => new IronError('ERR_SERVER_NOT_FOUND', NOT_FOUND);
