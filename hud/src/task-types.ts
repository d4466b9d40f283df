// The v2 task JSON as the HUD reads it (src/server/present.ts taskJson; peak_memory and
// cpu_seconds per contract 3, absent when unknown).
export interface TaskJson {
  id: string;
  code_id: string;
  code_name: string;
  code_rev: string;
  status: string;
  priority: number;
  timeout: number;
  delay: number;
  payload: string;
  cluster: string;
  log_size: number;
  retry_count: number;
  created_at: string;
  updated_at: string;
  msg?: string;
  label?: string;
  percent?: number;
  start_time?: string;
  end_time?: string;
  duration?: number;
  exit_code?: number;
  schedule_id?: string;
  retry_of?: string;
  retry_task_id?: string;
  attempt?: number;
  log_truncated?: boolean;
  peak_memory?: number;
  cpu_seconds?: number;
}

export const STATUSES = ['queued', 'preparing', 'running', 'complete', 'error', 'cancelled', 'timeout', 'killed'] as const;

export function isActive(status: string): boolean {
  return status === 'queued' || status === 'preparing' || status === 'running';
}
