import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../tasks/errors.js';
import { NUL_MESSAGE, PG_NUL_REFUSED } from './nul-check.js';

export function errorBody(code: ErrorCode, message: string, requestId: string) {
  return { error: { code, message, request_id: requestId } };
}

/** Fastify's own errors (body parsing, limits) mapped to the API's codes. */
function classify(err: FastifyError): { code: ErrorCode; message: string } {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'VALIDATION_ERROR', message: 'request body must not be empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'VALIDATION_ERROR', message: 'request body is not valid JSON' };
  }
  if (err.validation) return { code: 'VALIDATION_ERROR', message: err.message };
  if (err.statusCode === 400 || err instanceof SyntaxError) return { code: 'VALIDATION_ERROR', message: 'request body is not valid JSON' };
  if (err.statusCode === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' };
  if (err.statusCode === 429) return { code: 'RATE_LIMIT_EXCEEDED', message: err.message };
  if (err.code === PG_NUL_REFUSED) return { code: 'VALIDATION_ERROR', message: NUL_MESSAGE };
  return { code: 'INTERNAL_ERROR', message: 'internal error; the server log has the details for this request id' };
}

/** Every error leaves the server in one envelope: {"error":{"code","message","request_id"}}. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.status).send(errorBody(err.code, err.message, req.id));
    }
    const { code, message } = classify(err);
    if (code === 'INTERNAL_ERROR') req.log.error({ err }, 'request failed');
    return reply.status(ERROR_STATUS[code]).send(errorBody(code, message, req.id));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`, req.id)),
  );
}
