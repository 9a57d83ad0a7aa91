import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyReportApp } from '../../producers/reportData.js';
import { appExists, dokkuApps } from '../../src/dokku/dokkuState.js';
import { DokkuError } from '../../src/errors.js';

/** Dokku mode and `network:report` take Dokku's own app-name rule (APP_NAME_PATTERN), legacy `_` names included. */
describe("Dokku's app-name rule", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('lists and finds the app folders whose names Dokku accepts, legacy ones included', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'netq-apps-'));
    dirs.push(root);
    for (const name of ['web', 'old_style', 'a.b-c', '.hidden', 'Upper', '_tmp', 'tls']) {
      await mkdir(path.join(root, name));
    }
    const d = { root, libRoot: root };
    expect(await dokkuApps(d)).toEqual(['a.b-c', 'old_style', 'tls', 'web']);
    expect(await appExists(d, 'old_style')).toBe(true);
    expect(await appExists(d, 'Upper')).toBe(false);
    expect(await appExists(d, '_tmp')).toBe(false);
  });

  it("network:report refuses what Dokku refuses, with IsValidAppName's message, and takes legacy names", async () => {
    await expect(verifyReportApp({}, 'old_style')).resolves.toBeUndefined();
    await expect(verifyReportApp({}, 'a.b-c')).resolves.toBeUndefined();
    for (const bad of ['Upper', '-lead', '.lead', 'sp ace', 'a/b']) {
      await expect(verifyReportApp({}, bad), bad).rejects.toThrow(DokkuError);
      await expect(verifyReportApp({}, bad), bad).rejects.toThrow(/^App name must begin with lowercase/);
    }
  });
});
