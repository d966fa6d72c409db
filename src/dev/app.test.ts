import { describe, expect, it } from 'vitest';
import { answer, parseAppConfig, pathLabel, type AppConfig } from './app.ts';

const base: AppConfig = parseAppConfig({});

describe('the demo app configuration', () => {
  it('has defaults for everything', () => {
    expect(base).toEqual({
      port: 8080,
      errorRate: 0,
      latencyMs: 0,
      latencyJitterMs: 0,
      version: 'unknown',
      readyDelayMs: 0,
      hostname: 'localhost',
      message: 'greetings from the Sluice demo app',
    });
  });

  it('reads the environment', () => {
    expect(
      parseAppConfig({
        PORT: '0',
        ERROR_RATE: '0.25',
        LATENCY_MS: '40',
        LATENCY_JITTER_MS: '10',
        VERSION: '2.0.0',
        READY_DELAY_MS: '500',
        HOSTNAME: 'p-1',
      }),
    ).toMatchObject({
      port: 0,
      errorRate: 0.25,
      latencyMs: 40,
      latencyJitterMs: 10,
      version: '2.0.0',
      readyDelayMs: 500,
      hostname: 'p-1',
    });
  });

  it.each([
    [{ ERROR_RATE: '1.5' }, 'ERROR_RATE: "1.5" is not a number between 0 and 1'],
    [{ ERROR_RATE: 'half' }, 'ERROR_RATE: "half" is not a number between 0 and 1'],
    [{ LATENCY_MS: '-3' }, 'LATENCY_MS: "-3" is not a number between 0 and 600000'],
    [{ PORT: '80.5' }, 'PORT: "80.5" is not a whole number'],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => parseAppConfig(env)).toThrow(message);
  });
});

describe('the demo app answers', () => {
  it('fail with probability ERROR_RATE', () => {
    const config = { ...base, errorRate: 0.3, version: '2.0.0' };
    expect(answer(config, '/', () => 0.29).status).toBe(500);
    expect(answer(config, '/', () => 0.3)).toMatchObject({ status: 200, body: { version: '2.0.0' } });
  });

  it('wait LATENCY_MS plus up to LATENCY_JITTER_MS', () => {
    expect(answer({ ...base, latencyMs: 40, latencyJitterMs: 10 }, '/', () => 0.5).delayMs).toBe(45);
    expect(answer(base, '/', () => 0.5).delayMs).toBe(0);
  });

  it('answer /status/<code> with that code', () => {
    expect(answer(base, '/status/418', () => 0.9).status).toBe(418);
    expect(answer(base, '/status/999', () => 0.9).status).toBe(200);
  });
});

describe('pathLabel', () => {
  it('keeps series bounded', () => {
    expect(pathLabel('/')).toBe('/');
    expect(pathLabel('/healthz')).toBe('/healthz');
    expect(pathLabel('/status/503')).toBe('/status/:code');
    expect(pathLabel('/api/users/42')).toBe('/api');
  });
});
