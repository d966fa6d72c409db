import { describe, expect, it } from 'vitest';
import { readSignalFlow, signalFxEndpoints } from './splunk.ts';

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

describe('splunk', () => {
  it('queries stream.<realm> and checks api.<realm>, whichever the address names', () => {
    expect(signalFxEndpoints('https://api.us1.signalfx.com')).toEqual({
      api: 'https://api.us1.signalfx.com',
      stream: 'https://stream.us1.signalfx.com',
    });
    expect(signalFxEndpoints('wss://stream.eu0.signalfx.com')).toEqual({
      api: 'https://api.eu0.signalfx.com',
      stream: 'https://stream.eu0.signalfx.com',
    });
  });

  it("keeps each time series' last value across data messages, in chunks", () => {
    const text =
      event('control-message', { event: 'STREAM_START', timestampMs: 1 }) +
      event('data', {
        logicalTimestampMs: 1,
        data: [
          { tsId: 'A', value: 1 },
          { tsId: 'B', value: 2 },
        ],
      }) +
      event('data', {
        logicalTimestampMs: 2,
        data: [
          { tsId: 'A', value: 5 },
          { tsId: 'B', value: null },
        ],
      }) +
      event('control-message', { event: 'END_OF_CHANNEL', timestampMs: 3 });
    const result = readSignalFlow([text.slice(0, 50), text.slice(50)]);
    expect(result.ended).toBe(true);
    expect(result.value('p')).toEqual([5, 2]);
    expect(() =>
      readSignalFlow([event('control-message', { event: 'END_OF_CHANNEL' })]).value('p'),
    ).toThrowError('no values from splunk for query p');
    expect(() => readSignalFlow([event('error', { errors: [{ code: 'BAD' }] })]).value('p')).toThrowError(
      'splunk rejected the program: [{"code":"BAD"}]: p',
    );
  });
});
