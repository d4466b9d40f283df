// The v2 code JSON as the HUD reads it (src/server/present.ts codeJson) and the stats answer.
export interface CodeJson {
  id: string;
  name: string;
  rev: number;
  image: string;
  command: string;
  retries: number;
  retries_delay: number;
  paused: boolean;
  created_at: string;
  updated_at: string;
  max_concurrency?: number;
  default_priority?: number;
}

export interface RevisionJson {
  id: string;
  rev: number;
  image: string;
  command: string;
  file_name: string;
  code_size: number;
  created_at: string;
}

/** GET /2/projects/{p}/codes/{id}/stats: counts per status over the last 24 h by default. */
export type CodeStats = Record<string, number>;

/** The statuses the Codes table has a column for, in order. */
export const COUNTED = ['queued', 'running', 'complete', 'error', 'cancelled', 'timeout', 'killed'] as const;

/** A code's stats folded for the table: preparing tasks count as running. */
export function countOf(stats: CodeStats | undefined, status: string): string {
  if (stats === undefined) return '';
  const n = (stats[status] ?? 0) + (status === 'running' ? (stats['preparing'] ?? 0) : 0);
  return String(n);
}
