// serverConfig() (tests, embedders) builds its config through the same reader and rules as iron-api's
// flags and variables: an override iron-api would refuse is refused here too.
import { describe, expect, it } from 'vitest';
import { loadServerConfig, parseArgs, serverConfig } from '../../src/config/server.js';

const dataDir = '/tmp/iron-server-config-test';

describe('serverConfig overrides', () => {
  it('equals the flag-and-env config for the same settings', () => {
    const viaOverrides = serverConfig({
      dataDir,
      port: 0,
      leaseMs: 400,
      heartbeatIntervalMs: 100,
      maxAttempts: 2,
      maxBodyBytes: 256 * 1024,
      zipLimits: { maxEntries: 20, maxUnpackedBytes: 8 * 1024 * 1024, maxRatio: 200 },
      metricsToken: 'a-metrics-token-of-16+',
    });
    const viaEnv = loadServerConfig(parseArgs(['--data-dir', dataDir, '--port', '0', '--lease', '400ms']), {
      HEARTBEAT_INTERVAL: '100ms',
      MAX_ATTEMPTS: '2',
      MAX_BODY_SIZE: '256K',
      MAX_CODE_FILES: '20',
      MAX_CODE_UNPACKED_SIZE: '8M',
      METRICS_TOKEN: 'a-metrics-token-of-16+',
    });
    expect(viaOverrides).toEqual(viaEnv);
    expect(Object.isFrozen(viaOverrides)).toBe(true);
  });

  it('keeps the limits no variable sets', () => {
    const c = serverConfig({ dataDir, maxParkedPerCluster: 5, bodyIdleMs: 500, maxWaitMs: 1000 });
    expect([c.maxParkedPerCluster, c.bodyIdleMs, c.maxWaitMs]).toEqual([5, 500, 1000]);
  });

  it('refuses what iron-api would refuse, naming every problem', () => {
    let err: unknown;
    try {
      serverConfig({ dataDir, port: 70_000, leaseMs: 1000, heartbeatIntervalMs: 900, maxConnections: 2, metricsToken: 'short', maxParkedPerCluster: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG_INVALID', details: { problems: 5 } });
    const message = (err as Error).message;
    for (const what of ['PORT', 'HEARTBEAT_INTERVAL', 'MAX_CONNECTIONS', 'METRICS_TOKEN', 'maxParkedPerCluster']) expect(message).toContain(what);
  });

  it('checks a tls override like the files: a key that is not PEM is refused', () => {
    expect(() => serverConfig({ dataDir, tls: { cert: 'not a certificate', key: 'not a key' } })).toThrow(/TLS_CERT_FILE holds no PEM certificate/);
  });
});

describe('the database settings', () => {
  it('selects PostgreSQL with --database-url or DATABASE_URL, with pool and timeout, and SQLite without', () => {
    expect(loadServerConfig(parseArgs(['--data-dir', dataDir]), {}).database).toBeUndefined();
    const viaFlag = loadServerConfig(parseArgs(['--data-dir', dataDir, '--database-url', 'postgres://iron:pw@db:5432/iron', '--retention', '7']), {
      DATABASE_POOL_MAX: '4',
      DATABASE_STATEMENT_TIMEOUT: '5s',
    });
    expect(viaFlag.database).toEqual({ url: 'postgres://iron:pw@db:5432/iron', poolMax: 4, statementTimeoutMs: 5000 });
    expect(viaFlag.retentionMs).toBe(7 * 86_400_000);
    expect(loadServerConfig(parseArgs(['--data-dir', dataDir]), { DATABASE_URL: 'postgresql://db/iron' }).database?.poolMax).toBe(10);
    expect(loadServerConfig(parseArgs(['--data-dir', dataDir]), { RETENTION: '0' }).retentionMs).toBe(0);
    expect(serverConfig({ dataDir, database: { url: 'postgres://db/x', poolMax: 3, statementTimeoutMs: 1000 } }).database).toEqual({ url: 'postgres://db/x', poolMax: 3, statementTimeoutMs: 1000 });
  });

  it('refuses a URL that is not PostgreSQL without echoing it (it may hold a password)', () => {
    for (const url of ['mysql://u:hunter2secret@db/x', 'not a url hunter2secret']) {
      let message = '';
      try {
        loadServerConfig(parseArgs(['--data-dir', dataDir, '--database-url', url]), {});
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toContain('hunter2secret');
    }
    expect(() => loadServerConfig(parseArgs(['--data-dir', dataDir]), { DATABASE_POOL_MAX: '0', DATABASE_URL: 'postgres://db/x' })).toThrow(/DATABASE_POOL_MAX/);
  });

  it('idle runners beat at a third of RUNNER_LOST_AFTER unless told otherwise, never slower than lost-after allows', () => {
    expect(serverConfig({ dataDir }).idleHeartbeatIntervalMs).toBe(3333);
    expect(serverConfig({ dataDir, runnerLostAfterMs: 3_000 }).idleHeartbeatIntervalMs).toBe(1000);
    // Never below HEARTBEAT_INTERVAL.
    expect(serverConfig({ dataDir, heartbeatIntervalMs: 2_000, runnerLostAfterMs: 4_000 }).idleHeartbeatIntervalMs).toBe(2000);
    expect(loadServerConfig(parseArgs(['--data-dir', dataDir, '--idle-heartbeat-interval', '4s']), {}).idleHeartbeatIntervalMs).toBe(4000);
    expect(() => loadServerConfig(parseArgs(['--data-dir', dataDir]), { IDLE_HEARTBEAT_INTERVAL: '6s' })).toThrow('RUNNER_LOST_AFTER must be at least twice IDLE_HEARTBEAT_INTERVAL');
    expect(() => loadServerConfig(parseArgs(['--data-dir', dataDir]), { IDLE_HEARTBEAT_INTERVAL: '500ms' })).toThrow('IDLE_HEARTBEAT_INTERVAL must be at least HEARTBEAT_INTERVAL');
  });
});
