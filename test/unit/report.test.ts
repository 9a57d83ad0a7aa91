import { describe, expect, it } from 'vitest';
import { computeProperties } from '../../src/properties/properties.js';
import {
  APP_REPORT_FLAGS,
  appReportValues,
  driftOf,
  firstLine,
  fromBytes,
  GLOBAL_REPORT_FLAGS,
  globalReportValues,
  goJson,
  goJsonString,
  goQuote,
  netqJsonObject,
  reportJsonObject,
  reportStdout,
  toBytes,
} from '../../src/report/buildReport.js';
import type { StoredNetworkConfig } from '../../src/store/networkConfigStore.js';

const stored = (applied = computeProperties({}, {}), failures: StoredNetworkConfig['failures'] = []) =>
  ({ app: 'a', host: 'local', updatedAt: '', listeners: {}, containers: [], failures, applied }) as StoredNetworkConfig;

describe('network:report drift', () => {
  it('says what is not applied yet for an app that was never rebuilt, and nothing when all is default', () => {
    expect(driftOf(computeProperties({}, {}), undefined)).toBe('');
    expect(driftOf(computeProperties({ tld: 'svc.test' }, { 'bind-all-interfaces': 'true' }), undefined)).toBe(
      'bind-all-interfaces, tld not applied yet: the app has not been rebuilt; run network:rebuild',
    );
  });

  it('compares the configured properties with those the last rebuild applied, and names failed containers', () => {
    const want = computeProperties({ tld: 'svc.test' }, {});
    expect(driftOf(want, stored(want))).toBe('');
    expect(driftOf(want, stored())).toBe('tld is "svc.test" but "" is applied; run network:rebuild to apply');
    expect(driftOf(want, stored(want, [{ container: 'a.web.1', reason: 'network mode is none' }]))).toBe(
      '1 container(s) failed at the last rebuild: a.web.1: network mode is none',
    );
  });
});

const pad = (key: string) => `       ${`${key}:`.padEnd(38)}`;

describe('network:report as Dokku prints it (plugins/network/report.go, plugins/common/common.go ReportSingleApp)', () => {
  const values = appReportValues(
    { tld: 'svc.test', 'attach-post-deploy': 'n1,n2', 'static-web-listener': '10.0.0.1:80 ' },
    { 'attach-post-deploy': 'g1', 'initial-network': 'inet', 'bind-all-interfaces': 'true' },
    '10.0.0.1:80 ',
  );

  it('has the 17 keys of an app and the 10 of --global, raw values as stored and computed ones falling back', () => {
    expect(Object.keys(values).sort()).toEqual([...APP_REPORT_FLAGS]);
    expect(values).toMatchObject({
      '--network-attach-post-deploy': 'n1,n2',
      '--network-computed-attach-post-deploy': 'n1,n2',
      '--network-global-attach-post-deploy': 'g1',
      '--network-bind-all-interfaces': '',
      '--network-computed-bind-all-interfaces': 'true',
      '--network-computed-initial-network': 'inet',
      '--network-initial-network': '',
      '--network-static-web-listener': '10.0.0.1:80 ',
    });
    const global = globalReportValues({});
    expect(Object.keys(global).sort()).toEqual([...GLOBAL_REPORT_FLAGS]);
    expect(global['--network-global-bind-all-interfaces']).toBe('');
    expect(global['--network-computed-bind-all-interfaces']).toBe('false');
    expect(globalReportValues({ tld: 'g.test' })['--network-computed-tld']).toBe('g.test');
  });

  it('prints the header, then sorted keys padded to 38 with the values as they are (trailing spaces kept)', () => {
    const text = reportStdout('app', values);
    const lines = text.split('\n');
    expect(lines[0]).toBe('=====> app network information');
    expect(lines[1]).toBe(pad('Network attach post create'));
    expect(lines[2]).toBe(`${pad('Network attach post deploy')}n1,n2`);
    expect(lines[6]).toBe(`${pad('Network computed bind all interfaces')}true`);
    expect(lines[6]).toBe('       Network computed bind all interfaces: true');
    expect(lines[15]).toBe(`${pad('Network static web listener')}10.0.0.1:80 `);
    expect(lines[17]).toBe(`${pad('Network web listeners')}10.0.0.1:80 `);
    expect(lines).toHaveLength(19);
    expect(text.endsWith('\n')).toBe(true);
    expect(reportStdout('--global', globalReportValues({}), true).split('\n')[0]).toBe(
      pad('Network computed attach post create'),
    );
    // a short key set pads to 31 at least
    expect(reportStdout('x', { '--network-tld': 'a' })).toBe(
      `=====> x network information\n       ${'Network tld:'.padEnd(31)}a\n`,
    );
  });

  it("writes JSON as Go's json.Marshal: sorted keys, each key twice, HTML-safe escapes, invalid bytes as \\ufffd", () => {
    expect(goJson(reportJsonObject({ '--network-tld': 'a<b>&c', '--network-computed-tld': '' }))).toBe(
      '{"computed-tld":"","network-computed-tld":"","network-tld":"a\\u003cb\\u003e\\u0026c","tld":"a\\u003cb\\u003e\\u0026c"}',
    );
    expect(goJsonString('"\\\b\f\n\r\t\u0001\u007f é\u2028\u2029😀')).toBe(
      '"\\"\\\\\\b\\f\\n\\r\\t\\u0001\u007f é\\u2028\\u2029😀"',
    );
    expect(goJsonString(fromBytes(Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80])))).toBe(
      '"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd"',
    );
    expect(goJson({ b: { y: '1', x: '2' }, a: '' })).toBe('{"a":"","b":{"x":"2","y":"1"}}');
    expect(netqJsonObject({ '--network-tld': 't' }, 'late')).toEqual({
      tld: 't',
      'network-tld': 't',
      drift: 'late',
      'network-drift': 'late',
    });
  });

  it('keeps the bytes of a file: invalid UTF-8 goes out as it came in', () => {
    const raw = Buffer.from([0x61, 0xff, 0xe2, 0x82, 0xac, 0xc3, 0x28, 0xf0, 0x9f, 0x98, 0x80, 0x80]);
    expect(toBytes(fromBytes(raw))).toEqual(raw);
    expect(fromBytes(Buffer.from('héllo'))).toBe('héllo');
  });

  it('reads an IP or PORT file as common.ReadFirstLine: the first line that is not blank, trimmed', () => {
    expect(firstLine(Buffer.from('172.17.0.2'))).toBe('172.17.0.2');
    expect(firstLine(Buffer.from('\n  \r\n 172.17.0.2 \r\nx'))).toBe('172.17.0.2');
    expect(firstLine(Buffer.from('\u00a0\u0085x\u3000'))).toBe('x');
    expect(firstLine(Buffer.from('\ufeffx'))).toBe('\ufeffx');
    expect(firstLine(Buffer.from(''))).toBe('');
    expect(firstLine(Buffer.from(`${'a'.repeat(65_536)}\nb`))).toBe('');
    expect(firstLine(Buffer.from(`${'a'.repeat(65_535)}\nb`))).toBe('a'.repeat(65_535));
  });

  it("quotes a value as Go's %q does", () => {
    expect(goQuote('xml')).toBe('"xml"');
    expect(goQuote('a"b\\c\n\u0001\u007f')).toBe('"a\\"b\\\\c\\n\\x01\\x7f"');
    expect(goQuote('é\u00ad\u2028')).toBe('"é\\u00ad\\u2028"');
  });
});
