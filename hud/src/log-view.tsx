// A task log with its ANSI colours: segments from ansi.ts become spans with class names; the text
// is a child string, so Preact escapes it (never innerHTML).
import { useMemo } from 'preact/hooks';
import { parseAnsi } from './ansi.js';

export function LogView({ text }: { text: string }) {
  const segments = useMemo(() => parseAnsi(text), [text]);
  return (
    <pre class="log" tabIndex={0}>
      {segments.map((s, i) =>
        s.classes.length === 0 ? (
          s.text
        ) : (
          <span key={i} class={s.classes.join(' ')}>
            {s.text}
          </span>
        ),
      )}
    </pre>
  );
}
