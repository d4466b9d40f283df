import { describe, expect, it } from 'vitest';
import { formatSize, parseDurationMs, parseSize } from '../../src/config/units.js';

describe('sizes', () => {
  it('parses sizes the way Iron wrote them (binary multiples)', () => {
    expect(parseSize('256M')).toBe(256 * 1024 ** 2);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('64m')).toBe(64 * 1024 ** 2);
    expect(parseSize('512KB')).toBe(512 * 1024);
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize(' 10 MB ')).toBe(10 * 1024 ** 2);
  });
  it('rejects malformed sizes', () => {
    for (const bad of ['', 'M', '-1M', '1X', '1 G B', 'abc', '1e9', '9999999999999T']) expect(parseSize(bad)).toBeUndefined();
  });
  it('formats limits for messages', () => {
    expect(formatSize(256 * 1024 ** 2)).toBe('256 MiB');
    expect(formatSize(1024 ** 3)).toBe('1 GiB');
    expect(formatSize(1500)).toBe('1500 B');
  });
});

describe('durations', () => {
  it('parses Go-style durations and bare seconds', () => {
    expect(parseDurationMs('10s')).toBe(10_000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('2h')).toBe(7_200_000);
    expect(parseDurationMs('30')).toBe(30_000);
    expect(parseDurationMs('0.5')).toBe(500);
  });
  it('rejects malformed durations', () => {
    for (const bad of ['', 's', '10x', '1m 30s', '-5s', '10s junk']) expect(parseDurationMs(bad)).toBeUndefined();
  });
});
