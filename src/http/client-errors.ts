import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { errorBody, httpError, type HttpError } from './errors.js';

/** What a request Node's HTTP parser refused gets told, in the documented error shape. */
export function describeClientError(error: { code?: string }, limits: { maxHeaderBytes: number; requestTimeoutMs: number }): HttpError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return httpError('WG_ERR_HEADERS_TOO_LARGE', `request headers are over the limit of ${limits.maxHeaderBytes} bytes`);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return httpError('WG_ERR_REQUEST_TIMEOUT', `the request was not received in full within ${limits.requestTimeoutMs} ms`);
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return httpError('WG_ERR_INVALID_REQUEST', 'the content-length header is not valid');
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return httpError('WG_ERR_INVALID_REQUEST', 'the transfer-encoding header is not valid');
    default:
      return httpError('WG_ERR_INVALID_REQUEST', `malformed HTTP request${error.code ? ` (${error.code})` : ''}`);
  }
}

/**
 * Fastify's clientErrorHandler: requests the HTTP parser refuses before any
 * route sees them (headers too large, a bad content-length, a client too
 * slow) are answered in the documented shape, with `"decision":"deny"`,
 * and the connection is closed.
 */
export function clientErrorHandler(limits: { maxHeaderBytes: number; requestTimeoutMs: number }) {
  return function (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const reply = describeClientError(error, limits);
    this.log.debug({ err: error, code: reply.code }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify(errorBody(reply));
      socket.write(
        `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
