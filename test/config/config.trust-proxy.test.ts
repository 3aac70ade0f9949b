import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('BGAGENT_TRUST_PROXY and BGAGENT_MAX_STREAMS_PER_USER', () => {
  it('trusts no proxy and allows 20 streams per user by default', () => {
    expect(loadConfig({})).toMatchObject({ trustProxy: false, maxStreamsPerUser: 20 });
    expect(loadConfig({ BGAGENT_MAX_STREAMS_PER_USER: '5' }).maxStreamsPerUser).toBe(5);
  });

  it('maps onto the forms Fastify takes: a boolean, a hop count, or addresses and CIDRs', () => {
    expect(loadConfig({ BGAGENT_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ BGAGENT_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ BGAGENT_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ BGAGENT_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1, fd00::/8,loopback' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', 'loopback']);
  });

  it('refuses anything else, naming the bad part', () => {
    for (const bad of ['yes', '10.0.0.0/33', '10.0.0.1,evil.example', '1.2.3.4/8/8', '-1']) {
      expect(() => loadConfig({ BGAGENT_TRUST_PROXY: bad })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ BGAGENT_TRUST_PROXY: '10.0.0.1,evil.example' })).toThrow(/BGAGENT_TRUST_PROXY.*"evil\.example"/);
    expect(() => loadConfig({ BGAGENT_MAX_STREAMS_PER_USER: '0' })).toThrow(/BGAGENT_MAX_STREAMS_PER_USER/);
  });
});
