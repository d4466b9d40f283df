// Job output shown on a terminal is data, not commands: escape sequences (colours, cursor moves,
// title changes, OSC 52 clipboard writes), other C0/C1 controls, a lone carriage return (which
// overwrites the line, so a job could paint a fake "iron" message) and bidi overrides (which
// reorder what is shown) are made visible instead of acted on. Newlines and tabs stay. Bytes are
// decoded as a stream so a UTF-8 character split between two chunks is not garbled.
import { StringDecoder } from 'node:string_decoder';

// C0 except \t and \n, DEL, C1; \r unless it starts a \r\n; bidi embeddings/overrides/isolates.
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

function visible(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c < 0x20) return `^${String.fromCharCode(c + 0x40)}`;
  if (c === 0x7f) return '^?';
  return `<U+${c.toString(16).toUpperCase().padStart(4, '0')}>`;
}

export function neutralise(text: string): string {
  return text.replace(UNSAFE, visible);
}

export class TerminalText {
  private readonly decoder = new StringDecoder('utf8');

  write(chunk: Buffer): string {
    return neutralise(this.decoder.write(chunk));
  }

  end(): string {
    return neutralise(this.decoder.end());
  }
}

/** What the CLI prints (on stderr) when the API marked a task's log truncated. */
export const TRUNCATED_NOTE = 'iron: this log was truncated (the runner or the API reached its log size limit); later output was dropped\n';
