import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { rebuildallProgressBar } from '../../producers/progress.js';

function stream(isTTY: boolean) {
  const s = new PassThrough() as PassThrough & {
    isTTY: boolean;
    columns: number;
    cursorTo: () => boolean;
    clearLine: () => boolean;
    moveCursor: () => boolean;
  };
  s.isTTY = isTTY;
  s.columns = 120;
  s.cursorTo = () => true;
  s.clearLine = () => true;
  s.moveCursor = () => true;
  let out = '';
  s.on('data', (d) => {
    out += d;
  });
  return { s: s as unknown as NodeJS.WriteStream, text: () => out };
}

describe('rebuildall progress bar', () => {
  it('shows apps done / total and failures on a terminal', () => {
    const { s, text } = stream(true);
    const bar = rebuildallProgressBar(s);
    expect(bar).toBeDefined();
    bar?.update({ hosts: 2, hostsScanned: 1, apps: 3, appsDone: 2, failed: 1 });
    bar?.stop();
    expect(text()).toContain('2/3 apps | 1 failed | hosts 1/2');
  });

  it('shows nothing when output is piped', () => {
    expect(rebuildallProgressBar(stream(false).s)).toBeUndefined();
  });
});
