// The embedded SQLite store (Node's built-in node:sqlite) behind the store ports. Each method is
// synchronous inside (one transaction on the event-loop thread) and async outside. The signal is
// not consulted: a transaction cannot be interrupted once it runs, and none waits for anything
// before it does (no connection pool, no lock queue), so there is nothing for it to cancel.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountStore, ClusterStore, CodeStore, DeadlineStore, InstanceStore, LeaseStore, ReadySignal, ScheduleStore, Store, TaskStore } from '../ports.js';
import * as accounts from './accounts.js';
import * as codes from './codes.js';
import { Db } from './db.js';
import * as instances from './instances.js';
import { SecretBox } from '../secret-box.js';
import * as runner from './runner.js';
import * as schedules from './schedules.js';
import * as tasks from './tasks.js';

export function openSqliteStore(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Db(join(dataDir, 'iron.db'));
  const box = SecretBox.forDataDir(dataDir);
  accounts.sealLegacyCredentials(db, box);
  return {
    accounts: accountStore(db, box),
    clusters: clusterStore(db),
    codes: codeStore(db),
    tasks: taskStore(db),
    leases: leaseStore(db),
    schedules: scheduleStore(db),
    deadlines: deadlineStore(db),
    instances: instanceStore(db),
    ready: LOCAL_READY,
    retention: { purgeFinished: async (before, limit) => runner.purgeFinished(db, before, limit) },
    close: async () => db.close(),
  };
}

/** One process: its own parked reserves are woken by services/readiness.ts directly, nobody else listens. */
const LOCAL_READY: ReadySignal = { publish: () => undefined, subscribe: () => () => undefined, backstopMs: 5000 };

function accountStore(db: Db, box: SecretBox): AccountStore {
  return {
    isEmpty: async () => accounts.isEmpty(db),
    createProject: async (name, now) => accounts.createProject(db, name, now),
    createFirstProject: async (name, now) => accounts.createFirstProject(db, name, now),
    getProject: async (id) => accounts.getProject(db, id),
    addToken: async (hash, scope, now) => accounts.addToken(db, hash, scope, now),
    findToken: async (hash) => accounts.findToken(db, hash),
    putCredential: async (pid, cred, now) => accounts.putCredential(db, box, pid, cred, now),
    credentials: async (pid) => accounts.credentials(db, box, pid),
  };
}

function clusterStore(db: Db): ClusterStore {
  return {
    createCluster: async (c, now) => accounts.createCluster(db, c, now),
    getCluster: async (id) => accounts.getCluster(db, id),
    resolveCluster: async (owner, idOrName) => accounts.resolveCluster(db, owner, idOrName),
    listClusters: async (owner, page) => accounts.listClusters(db, owner, page),
    countClusters: async (owner) => accounts.countClusters(db, owner),
    updateCluster: async (id, patch, now) => accounts.updateCluster(db, id, patch, now),
    deleteCluster: async (id) => accounts.deleteCluster(db, id),
  };
}

function codeStore(db: Db): CodeStore {
  return {
    putCode: async (input, now) => codes.putCode(db, input, now),
    getCode: async (pid, id) => codes.getCode(db, pid, id),
    getCodeByName: async (pid, name) => codes.getCodeByName(db, pid, name),
    listCodes: async (pid, page) => codes.listCodes(db, pid, page),
    countCodes: async (pid) => codes.countCodes(db, pid),
    listRevisions: async (pid, id, page) => codes.listRevisions(db, pid, id, page),
    getRevision: async (id) => codes.getRevision(db, id),
    setRevisionSha256: async (id, sha) => codes.setRevisionSha256(db, id, sha),
    deleteCode: async (pid, id, now) => codes.deleteCode(db, pid, id, now),
    setCodePaused: async (pid, id, paused, now) => codes.setCodePaused(db, pid, id, paused, now),
  };
}

function taskStore(db: Db): TaskStore {
  return {
    queueTasks: async (list, now) => tasks.queueTasks(db, list, now),
    queueRetry: async (of, next, now) => tasks.queueRetry(db, of, next, now),
    getTask: async (pid, id) => tasks.getTask(db, pid, id),
    listTasks: async (f) => tasks.listTasks(db, f),
    cancelTask: async (pid, id, now) => tasks.cancelTask(db, pid, id, now),
    cancelAll: async (pid, codeId, now) => tasks.cancelAll(db, pid, codeId, now),
    setProgress: async (pid, id, percent, msg, now) => tasks.setProgress(db, pid, id, percent, msg, now),
    taskCounts: async (f) => accounts.taskCounts(db, f),
    readyClustersOf: async (codeId) => runner.readyClustersOf(db, codeId),
    queueDepth: async (now) => runner.queueDepth(db, now),
  };
}

function leaseStore(db: Db): LeaseStore {
  return {
    reserve: async (cid, iid, n, now, until) => runner.reserve(db, cid, iid, n, now, until),
    heartbeat: async (cid, items, until, rules) => runner.heartbeat(db, cid, items, until, rules),
    startTask: async (cid, id, rid, now, rules) => runner.startTask(db, cid, id, rid, now, rules),
    finishTask: async (cid, id, f, now, rules) => runner.finishTask(db, cid, id, f, now, rules),
    logTarget: async (cid, id, rid, rules) => runner.logTarget(db, cid, id, rid, rules),
    setLogSize: async (id, size) => runner.setLogSize(db, id, size),
    markLogTruncated: async (id) => runner.markLogTruncated(db, id),
    expireLeases: async (now, rules) => runner.expireLeases(db, now, rules),
  };
}

function scheduleStore(db: Db): ScheduleStore {
  return {
    createSchedules: async (list, now) => schedules.createSchedules(db, list, now),
    getSchedule: async (pid, id) => schedules.getSchedule(db, pid, id),
    listSchedules: async (pid, page) => schedules.listSchedules(db, pid, page),
    cancelSchedule: async (pid, id, now) => schedules.cancelSchedule(db, pid, id, now),
    updateSchedule: async (pid, id, fields, now) => schedules.updateSchedule(db, pid, id, fields, now),
    countActiveSchedules: async (pid) => schedules.countActiveSchedules(db, pid),
    runDueSchedules: async (now) => schedules.runDueSchedules(db, now),
  };
}

function deadlineStore(db: Db): DeadlineStore {
  return {
    promoteDue: async (now) => runner.promoteDue(db, now),
    nextDeadline: async (now) => runner.nextDeadline(db, now),
  };
}

function instanceStore(db: Db): InstanceStore {
  return {
    recordInstances: async (seen) => instances.recordInstances(db, seen),
    listInstances: async (clusterIds, since) => instances.listInstances(db, clusterIds, since),
    dropInstances: async (before) => instances.dropInstances(db, before),
  };
}
