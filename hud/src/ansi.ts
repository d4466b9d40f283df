// ANSI SGR colours -> text segments with CSS class names. The output is data (text + classes) that
// the Log component renders as <span> elements, so the text is always escaped by Preact; no HTML
// string is ever built. Other escape sequences (cursor moves, titles) are dropped.

export interface Segment {
  readonly text: string;
  /** e.g. ["ansi-fg-1", "ansi-bold"]; only names from this file, never from the input. */
  readonly classes: readonly string[];
}

interface Style {
  fg: string | undefined;
  bg: string | undefined;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const plain = (): Style => ({ fg: undefined, bg: undefined, bold: false, dim: false, italic: false, underline: false });

// CSI ... final byte, OSC ... BEL/ST, or a lone two-byte escape.
const ESCAPE = /\u001b(?:\[([0-9;:?<=>]*)([@-~])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

export function parseAnsi(input: string): Segment[] {
  const out: Segment[] = [];
  let style = plain();
  let last = 0;
  const push = (text: string): void => {
    if (text === '') return;
    const classes = classesOf(style);
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.classes.join(' ') === classes.join(' ')) out[out.length - 1] = { text: prev.text + text, classes };
    else out.push({ text, classes });
  };
  for (const m of input.matchAll(ESCAPE)) {
    push(input.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] === 'm') style = applySgr(style, m[1] ?? '');
  }
  // A stray ESC (an unfinished sequence at the end of a log chunk) is not shown.
  push(
    input
      .slice(last)
      .replace(/\u001b\[[0-9;:?<=>]*$/, '')
      .replace(/\u001b/g, ''),
  );
  return out;
}

function applySgr(prev: Style, params: string): Style {
  const s = { ...prev };
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] ?? 0;
    if (c === 0) Object.assign(s, plain());
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c >= 30 && c <= 37) s.fg = String(c - 30);
    else if (c >= 90 && c <= 97) s.fg = String(c - 90 + 8);
    else if (c === 39) s.fg = undefined;
    else if (c >= 40 && c <= 47) s.bg = String(c - 40);
    else if (c >= 100 && c <= 107) s.bg = String(c - 100 + 8);
    else if (c === 49) s.bg = undefined;
    else if (c === 38 || c === 48) {
      // 256-colour (5;n) maps onto the 16 classes when it can; truecolour (2;r;g;b) is skipped.
      const mode = codes[i + 1];
      const n = codes[i + 2];
      if (mode === 5 && n !== undefined && n < 16) {
        if (c === 38) s.fg = String(n);
        else s.bg = String(n);
      }
      i += mode === 5 ? 2 : mode === 2 ? 4 : 0;
    }
  }
  return s;
}

function classesOf(s: Style): string[] {
  const out: string[] = [];
  if (s.fg !== undefined) out.push(`ansi-fg-${s.fg}`);
  if (s.bg !== undefined) out.push(`ansi-bg-${s.bg}`);
  if (s.bold) out.push('ansi-bold');
  if (s.dim) out.push('ansi-dim');
  if (s.italic) out.push('ansi-italic');
  if (s.underline) out.push('ansi-underline');
  return out;
}
