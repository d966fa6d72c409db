import { describe, expect, it } from 'vitest';
import { cloudWatchResultToValue, createCloudWatchProvider, parseMetricDataQueries } from './cloudwatch.ts';

describe('cloudwatch', () => {
  it('takes the newest value of each returned result, whatever the order', () => {
    const body = {
      MetricDataResults: [
        { Id: 'e1', StatusCode: 'Complete', Timestamps: [100, 300, 200], Values: [1, 3, 2] },
        { Id: 'e2', StatusCode: 'Complete', Timestamps: [], Values: [] },
      ],
    };
    expect(cloudWatchResultToValue(body, 'q')).toBe(3);
    expect(() => cloudWatchResultToValue({ MetricDataResults: [] }, 'q')).toThrowError(
      'no values from cloudwatch for query q',
    );
    expect(() =>
      cloudWatchResultToValue(
        {
          MetricDataResults: [{ Id: 'e1', StatusCode: 'Forbidden' }],
          Messages: [{ Code: 'Forbidden', Value: 'denied' }],
        },
        'q',
      ),
    ).toThrowError('cloudwatch: result e1 is Forbidden (denied): q');
  });

  it('wants a JSON list of MetricDataQuery with Ids, and a real region', () => {
    expect(parseMetricDataQueries('[{"Id": "m1", "Expression": "SUM(x)"}]')).toHaveLength(1);
    expect(() => parseMetricDataQueries('{"Id": "m1"}')).toThrowError(
      /must be a non-empty JSON list of MetricDataQuery/,
    );
    expect(() => parseMetricDataQueries('[{"Id": "m1",}]')).toThrowError(
      /^cloudwatch: the query is not JSON/,
    );
    expect(() => createCloudWatchProvider({ region: 'europe', intervalMs: 1 })).toThrowError(
      'cloudwatch provider: region "europe" is not an AWS region (e.g. eu-west-1)',
    );
  });
});
