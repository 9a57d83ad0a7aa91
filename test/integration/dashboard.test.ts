import { type ChildProcess, spawn } from 'node:child_process';
import { access, copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { queueName } from '../../src/jobs.js';
import {
  appName,
  configOf,
  createAppContainer,
  producer,
  ROOT,
  runCli,
  tempDir,
  until,
  useTestEnvs,
} from '../helpers.js';

/**
 * The bull-board dashboard of `netq serve` in a real browser: Debian's Chromium (installed by scripts/deps),
 * driven headless by puppeteer-core, opens /ui of a `netq serve` process beside a `netq worker` process.
 * The browser logs in the way a person's does: it answers the dashboard's Basic challenge with the token as
 * password (what the login prompt sends). Chromium resolves no name but 127.0.0.1 (bull-board's page asks
 * Google Fonts for a stylesheet), so the page settles and nothing leaves the machine.
 *
 * NETQ_DASHBOARD_PNG=<path>: also copy the screenshot there (how docs/dashboard.png is made).
 */

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-token-0123456789-abcdef';
const env = useTestEnvs({ docker: true });
const children: ChildProcess[] = [];
const browsers: Browser[] = [];

afterEach(async () => {
  for (const b of browsers.splice(0)) await b.close();
  // SIGTERM: the worker finishes and deregisters before its prefix is deleted (useTestEnvs' afterEach)
  await Promise.all(
    children.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const force = setTimeout(() => c.kill('SIGKILL'), 20_000);
          c.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
});

/** `netq <command>` as a long-running child process, its stdout kept. */
function start(command: string, e: Record<string, string>): { child: ChildProcess; stdout: () => string } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), command], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...e },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  return { child, stdout: () => out };
}

async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: scripts/deps installs Debian's chromium package`);
  });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // root in a container: no user namespace sandbox; no GPU
    args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  browsers.push(browser);
  return browser;
}

/** What a page's functions see of the browser (this file is compiled without the DOM's types). */
interface Browsed {
  document: { body: { innerText: string } };
}
/** The page's text as laid out: what a person sees, not the DOM's text nodes (hidden ones included). */
// biome-ignore lint/performance/useDomNodeTextContent: the laid-out text is the point
const laidOutText = () => (globalThis as unknown as Browsed).document.body.innerText;

/** Answers every login prompt of the page as a person pressing Cancel would (headless has no prompt). */
async function cancelLoginPrompts(page: Page): Promise<void> {
  const cdp = await page.createCDPSession();
  cdp.on('Fetch.requestPaused', ({ requestId }) => {
    cdp.send('Fetch.continueRequest', { requestId }).catch(() => {});
  });
  cdp.on('Fetch.authRequired', ({ requestId }) => {
    cdp
      .send('Fetch.continueWithAuth', { requestId, authChallengeResponse: { response: 'CancelAuth' } })
      .catch(() => {});
  });
  await cdp.send('Fetch.enable', { handleAuthRequests: true });
}

/** Width and height from a PNG's IHDR chunk, after checking its signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the dashboard (/ui) in headless Chromium', () => {
  it("shows the live host's queues to a browser that logs in with the token, and nothing without it", async () => {
    // the prefix is the test's own, so the host needs no unique name (it shows in docs/dashboard.png)
    const host = 'dokku-1';
    const e = env({ NETQ_HOST_ID: host, NETQ_API_TOKEN: TOKEN, NETQ_API_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'info' });
    const queues = [queueName.rebuild(host), queueName.scan(host), queueName.control(host), queueName.summary];

    start('worker', e);
    const q = producer(configOf(e));
    try {
      await until('the worker to beat', async () => ((await q.liveHosts()).includes(host) ? true : undefined));
    } finally {
      await q.close();
    }
    // some history for the page: one app rebuilt by a rebuildall
    const app = appName('dash');
    await createAppContainer({ app });
    const all = await runCli(['network:rebuildall', '--format', 'json'], e);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ containers: 1, configured: 1, failed: 0 });

    const serve = start('serve', e);
    const base = await until(
      '`netq serve` to listen',
      async () => serve.stdout().match(/"address":"(http:[^"]+)"/)?.[1],
    );
    const ui = `${base}/ui`;
    // the HTML the server sends names no queue: what the test finds below, the page's script rendered
    const html = await fetch(ui, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(html.status).toBe(200);
    const htmlText = await html.text();
    for (const name of queues) expect(htmlText).not.toContain(name);

    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 720 });
    await page.authenticate({ username: 'admin', password: TOKEN });
    const res = await page.goto(ui, { waitUntil: 'networkidle0', timeout: 60_000 });
    expect(res?.status()).toBe(200);
    // the rendered DOM: every queue of the live host
    await page.waitForFunction(
      // biome-ignore lint/performance/useDomNodeTextContent: the laid-out text, as laidOutText
      (names: string[]) => names.every((n) => (globalThis as unknown as Browsed).document.body.innerText.includes(n)),
      { timeout: 30_000 },
      queues,
    );
    const text = await page.evaluate(laidOutText);
    for (const name of queues) expect(text).toContain(name);
    // the rebuild queue's card counts jobs (the rebuildall's, and the worker's own host rebuild at start)
    expect(text).toMatch(new RegExp(`rebuild\\.${host}\\s+[1-9]\\d* Jobs?\\b`));
    const listed = await page.evaluate(async () => {
      const r = await fetch('/ui/api/queues');
      return { status: r.status, body: await r.text() };
    });
    expect(listed.status).toBe(200);
    for (const name of queues) expect(listed.body).toContain(`"${name}"`);
    const { dir, remove } = await tempDir();
    try {
      const file = path.join(dir, 'dashboard.png');
      await page.screenshot({ path: file });
      const png = await readFile(file);
      expect(pngSize(png)).toEqual({ width: 1280, height: 720 });
      expect(png.length).toBeGreaterThan(10_000);
      if (process.env.NETQ_DASHBOARD_PNG) await copyFile(file, process.env.NETQ_DASHBOARD_PNG);
    } finally {
      await remove();
    }

    // a browser without the token (its own profile: no credentials cached) whose user cancels the login
    // prompt: the 401, and no queue on the page or from the API
    const stranger = await (await browser.createBrowserContext()).newPage();
    await cancelLoginPrompts(stranger);
    const refused = await stranger.goto(ui, { waitUntil: 'networkidle0', timeout: 60_000 });
    expect(refused?.status()).toBe(401);
    expect(refused?.headers()['www-authenticate']).toMatch(/^Basic realm="netq"/);
    const shown = await stranger.evaluate(laidOutText);
    for (const name of queues) expect(shown).not.toContain(name);
    const api = await stranger.evaluate(async () => {
      const r = await fetch('/ui/api/queues');
      return { status: r.status, body: await r.text() };
    });
    expect(api.status).toBe(401);
    for (const name of queues) expect(api.body).not.toContain(name);
    // nor with a wrong token
    const wrong = await fetch(`${ui}/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}-wrong`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
  });
});
