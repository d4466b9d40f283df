// Requests node's HTTP parser rejects before any route sees them (oversized headers, a junk request
// line, bad chunking) still get Iron's JSON {"msg"} body: node's default answer has an empty body,
// which clients then report as "unexpected response" instead of the reason.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

const MESSAGES: Readonly<Record<number, string>> = {
  400: 'malformed HTTP request',
  408: 'the request was not received in time',
  413: 'request chunk extensions are too large',
  431: 'request headers are too large',
};

export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A response already under way on this socket cannot be replaced; a reset peer cannot be answered.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const status = STATUS_BY_CODE[err.code ?? ''] ?? 400;
  const body = JSON.stringify({ msg: MESSAGES[status] ?? 'malformed HTTP request' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
