import { describe, expect, it } from 'vitest';
import { fluxCsvToValue, influxQlResultToValue, isInfluxQl } from './influxdb.ts';

const csv = (...rows: string[]) =>
  [
    '#datatype,string,long,dateTime:RFC3339,double',
    '#group,false,false,false,false',
    '#default,_result,,,',
    ',result,table,_time,_value',
    ...rows,
  ].join('\r\n');

describe('influxdb', () => {
  it('tells InfluxQL from Flux', () => {
    expect(isInfluxQl('SELECT mean(v) FROM m')).toBe(true);
    expect(isInfluxQl('  select\nmean(v) from m')).toBe(true);
    expect(isInfluxQl('from(bucket: "b") |> range(start: -1m)')).toBe(false);
  });

  it('reads the last non-null _value of each Flux table', () => {
    expect(fluxCsvToValue(csv(',,0,2026-01-01T00:00:00Z,1', ',,0,2026-01-01T00:01:00Z,2.5'), 'q')).toBe(2.5);
    expect(fluxCsvToValue(csv(',,0,2026-01-01T00:00:00Z,1', ',,1,2026-01-01T00:00:00Z,4'), 'q')).toEqual([
      1, 4,
    ]);
    expect(() => fluxCsvToValue(csv(',,0,2026-01-01T00:00:00Z,'), 'q')).toThrowError(
      'no values from influxdb for query q',
    );
    expect(() => fluxCsvToValue('', 'q')).toThrowError('no values from influxdb for query q');
    const error = [
      '#datatype,string,string',
      '#group,true,true',
      '#default,,',
      ',error,reference',
      ',panic: boom,',
    ].join('\r\n');
    expect(() => fluxCsvToValue(error, 'q')).toThrowError('influxdb rejected the query: panic: boom: q');
  });

  it('reads the last value of each InfluxQL series, and wants one field', () => {
    const series = (columns: string[], values: unknown[][]) => ({
      results: [{ statement_id: 0, series: [{ name: 'm', columns, values }] }],
    });
    expect(
      influxQlResultToValue(
        series(
          ['time', 'mean'],
          [
            [1, 2],
            [2, null],
          ],
        ),
        'q',
      ),
    ).toBe(2);
    expect(() => influxQlResultToValue({ results: [{ statement_id: 0 }] }, 'q')).toThrowError(
      'no values from influxdb for query q',
    );
    expect(() =>
      influxQlResultToValue({ results: [{ statement_id: 0, error: 'database not found: x' }] }, 'q'),
    ).toThrowError('influxdb rejected the query: database not found: x: q');
    expect(() => influxQlResultToValue(series(['time', 'a', 'b'], [[1, 2, 3]]), 'q')).toThrowError(
      /selects 2 fields \(a, b\)/,
    );
  });
});
