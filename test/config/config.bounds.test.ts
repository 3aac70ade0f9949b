import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('the bounds configuration', () => {
  it('defaults to 100 waiting tasks per user, 5000 agent events per task and 30 days of retention', () => {
    expect(loadConfig({})).toMatchObject({ maxQueuedPerUser: 100, maxOutputEventsPerTask: 5000, retentionMs: 30 * 24 * 60 * 60 * 1000 });
  });

  it('takes whole numbers, and off for retention', () => {
    expect(loadConfig({ BGAGENT_MAX_QUEUED_PER_USER: '7', BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK: '50', BGAGENT_RETENTION_DAYS: '2' })).toMatchObject({
      maxQueuedPerUser: 7,
      maxOutputEventsPerTask: 50,
      retentionMs: 2 * 24 * 60 * 60 * 1000,
    });
    expect(loadConfig({ BGAGENT_RETENTION_DAYS: 'off' }).retentionMs).toBeUndefined();
  });

  it.each([
    ['BGAGENT_RETENTION_DAYS', '0', 'or off'],
    ['BGAGENT_RETENTION_DAYS', 'forever', 'or off'],
    ['BGAGENT_RETENTION_DAYS', '1.5', 'or off'],
    ['BGAGENT_MAX_QUEUED_PER_USER', '0', 'BGAGENT_MAX_QUEUED_PER_USER'],
    ['BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK', '-1', 'BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK'],
  ])('refuses %s=%s, naming it', (name, value, says) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*${says === name ? '' : says}`));
  });
});
