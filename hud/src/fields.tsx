// The form pieces every page uses: a labelled input (its label is its accessible name), the form's
// values as one state object, and the alert that shows a failed load.
import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';

/**
 * A label beside its control, tied by for/id rather than wrapped around it: a wrapping label's
 * accessible name would take in the control's own text too (a select's options), so "Stop" would be
 * named "Stop never at a date ...".
 */
export function Labelled({ label, children }: { label: string; children: (id: string) => ComponentChildren }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(id)}
    </div>
  );
}

interface FieldProps {
  label: string;
  value: string;
  onValue: (v: string) => void;
  type?: 'text' | 'search' | 'number' | 'datetime-local';
  placeholder?: string;
  min?: number;
  max?: number;
  required?: boolean;
}

/** A labelled input; date inputs report on change (their value is partial while typing). */
export function Field({ label, value, onValue, type = 'text', ...rest }: FieldProps) {
  const handler = (e: { currentTarget: HTMLInputElement }): void => onValue(e.currentTarget.value);
  return (
    <Labelled label={label}>
      {(id) => {
        if (type === 'datetime-local') return <input id={id} type="datetime-local" value={value} onChange={handler} {...rest} />;
        if (type === 'number') return <input id={id} type="number" value={value} onInput={handler} {...rest} />;
        if (type === 'search') return <input id={id} type="search" value={value} onInput={handler} {...rest} />;
        return <input id={id} type="text" value={value} onInput={handler} {...rest} />;
      }}
    </Labelled>
  );
}

export function TextArea({ label, value, onValue, rows }: { label: string; value: string; onValue: (v: string) => void; rows: number }) {
  return <Labelled label={label}>{(id) => <textarea id={id} rows={rows} cols={60} spellcheck={false} value={value} onInput={(e) => onValue(e.currentTarget.value)} />}</Labelled>;
}

/** A labelled select of [value, text] options. */
export function Select({ label, value, onValue, options }: { label: string; value: string; onValue: (v: string) => void; options: ReadonlyArray<readonly [string, string]> }) {
  return (
    <Labelled label={label}>
      {(id) => (
        <select id={id} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
          {options.map(([v, text]) => (
            <option key={v} value={v}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Labelled>
  );
}

/** A form's string values in one state: `set(key)` is the setter a Field takes. */
export function useForm<T extends Record<string, string>>(initial: T): { values: T; set: (k: keyof T) => (v: string) => void; reset: () => void } {
  const [values, setValues] = useState<T>(initial);
  return { values, set: (k) => (v) => setValues((prev) => ({ ...prev, [k]: v })), reset: () => setValues(initial) };
}

export function ErrorAlert({ error }: { error: string | undefined }) {
  if (error === undefined) return null;
  return (
    <p role="alert" class="error">
      {error}
    </p>
  );
}

interface Placement {
  priority: string;
  cluster: string;
}

/** Priority and Cluster, as a task and a schedule take them (empty: the code's default, the default cluster). */
export function PlacementFields({ form }: { form: { values: Placement; set: (k: keyof Placement) => (v: string) => void } }) {
  return (
    <>
      <Field label="Priority" type="number" min={0} max={2} placeholder="code default" value={form.values.priority} onValue={form.set('priority')} />
      <Field label="Cluster" placeholder="default" value={form.values.cluster} onValue={form.set('cluster')} />
    </>
  );
}

/** The request fields of PlacementFields' values (omitted when empty). */
export function placement(v: Placement): { priority?: number; cluster?: string } {
  return { ...(v.priority === '' ? {} : { priority: Number(v.priority) }), ...(v.cluster.trim() === '' ? {} : { cluster: v.cluster.trim() }) };
}
