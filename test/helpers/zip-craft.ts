// Hand-made zip archives for tests, byte by byte: zip libraries refuse to write the hostile ones
// (".." names, absolute paths, duplicate names, symlinks out of the tree, sizes that lie), and the
// point of these tests is that iron-api and the runner refuse them when someone else wrote them.
import { crc32, deflateRawSync } from 'node:zlib';

export interface CraftEntry {
  name: string;
  data?: Buffer | string;
  /** Unix mode with type bits: 0o100644 file (default), 0o100755, 0o040755 dir, 0o120777 symlink. */
  mode?: number;
  deflate?: boolean;
  /** Overrides the uncompressed size written into the headers (a lying header). */
  declaredSize?: number;
}

export function craftZip(entries: readonly CraftEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const raw = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const body = e.deflate === true ? deflateRawSync(raw) : raw;
    const method = e.deflate === true ? 8 : 0;
    const crc = crc32(raw);
    const size = e.declaredSize ?? raw.length;
    const mode = e.mode ?? 0o100644;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A multipart body like ironcli's upload: the `data` JSON part and the zip as the `file` part. */
export function multipartUpload(data: Record<string, unknown>, zip: Buffer): { body: Buffer; type: string } {
  const b = 'craftboundary1234567890';
  return {
    type: `multipart/form-data; boundary=${b}`,
    body: Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="data"\r\n\r\n${JSON.stringify(data)}\n\r\n`),
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="worker.zip"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      zip,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]),
  };
}
