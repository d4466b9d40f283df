// Every command of the `iron` CLI, in the order `iron help` lists them.
import type { Command } from '../command.js';
import { clusterCreateCommand, clusterDeleteCommand, clusterListCommand, clusterShowCommand, clusterTokenCommand } from './clusters.js';
import { dockerLoginCommand } from './docker-login.js';
import { keygenCommand } from './keygen.js';
import { queueCommand } from './queue.js';
import { registerCommand } from './register.js';
import { uploadCommand } from './upload.js';
import { scheduleCancelCommand, scheduleCommand, scheduleCreateCommand, scheduleListCommand } from './schedules.js';
import { cancelCommand, listCommand, logCommand, retryCommand, statusCommand } from './tasks.js';

export const COMMANDS: readonly Command[] = [
  registerCommand,
  uploadCommand,
  queueCommand,
  statusCommand,
  logCommand,
  listCommand,
  cancelCommand,
  retryCommand,
  scheduleCommand,
  scheduleCreateCommand,
  scheduleListCommand,
  scheduleCancelCommand,
  clusterCreateCommand,
  clusterListCommand,
  clusterShowCommand,
  clusterTokenCommand,
  clusterDeleteCommand,
  dockerLoginCommand,
  keygenCommand,
];
