// multipart/form-data for POST /codes, shaped like ironcli's register request (a single `data` field
// holding the JSON, no part Content-Type, trailing newline) so any server that accepts ironcli
// accepts us. An optional zip goes in a `file` part, as `iron worker upload` does.
import { randomBytes } from 'node:crypto';

export interface MultipartBody {
  readonly contentType: string;
  readonly body: Buffer;
}

export function codeUploadBody(data: unknown, zip?: Buffer): MultipartBody {
  const boundary = randomBytes(30).toString('hex');
  const parts: Buffer[] = [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n${JSON.stringify(data)}\n\r\n`)];
  if (zip !== undefined) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="worker.zip"\r\nContent-Type: application/zip\r\n\r\n`), zip, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}
