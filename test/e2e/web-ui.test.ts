import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, sweep, testEnv } from '../helpers/docker.js';
import { type Served, serve } from '../helpers/serve.js';

/**
 * The web view in a real browser: Debian's chromium (scripts/setup.sh installs it) driven by
 * puppeteer-core against a spawned `nslab serve` with two FRR routers and one session. It signs in
 * through the form, sees the graph, hears a `docker kill` as a recoloured edge and node without a
 * reload, shows a node's status and the verify result, and loads nothing from another origin.
 */
const RUN = `webui-${process.pid}`;
const HOSTILE = '<img src=x onerror=alert(1)><b>lab</b>';
const TOKEN = 'web-ui-e2e-token-0123456789abcdef';
const env = { ...testEnv(RUN), NSLAB_HTTP_TOKEN: TOKEN, NSLAB_WATCH_INTERVAL_S: '1' };
const docker = promisify(execFile);
const YAML = [
  'name: webui',
  // Text from the lab is shown as text: this must not become an element.
  `description: '${HOSTILE}'`,
  'networks: { core: { subnet: 10.175.1.0/24 } }',
  'nodes:',
  '  wr1: { kind: frr, asn: 65201, interfaces: { core: auto }, advertise: [10.175.201.0/24] }',
  '  wr2: { kind: frr, asn: 65202, interfaces: { core: auto }, advertise: [10.175.202.0/24] }',
  'bgp: { sessions: [ { a: wr1, b: wr2, hold_s: 3, keepalive_s: 1 } ] }',
].join('\n');
const SCREENSHOT = join(root, '.nslab-test', 'ui.png');

// What page.evaluate and $eval run is in the page (puppeteer sends the function over); the
// typecheck has no DOM library, so its globals are named here, for this file only.
declare const document: any;
declare const window: any;
declare const getComputedStyle: any;
declare const localStorage: any;
declare const sessionStorage: any;

function chromium(): string {
  const found = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (found) return found;
  // scripts/setup.sh (the global setup) installs it; a run without it tries once more here.
  if (process.getuid?.() === 0) {
    spawnSync(
      'bash',
      ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium'],
      {
        stdio: 'ignore',
      },
    );
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  throw new Error("Debian's chromium is not installed (apt-get install chromium); the web view test needs it");
}

let served: Served;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const consoleErrors: string[] = [];

const rest = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${served.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await r.json()) as Record<string, any>;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
};

const stateOf = (selector: string) => page.$eval(selector, (e) => (e as any).dataset.state);
const SESSION = '[data-a="webui-wr1"][data-b="webui-wr2"]';

describe('the web view in a real browser', () => {
  beforeAll(async () => {
    const executablePath = chromium();
    served = await serve(env);
    await rest('POST', '/topologies', { yaml: YAML });
    const up = await rest('POST', '/topology/standup', { name: 'webui', wait_established_s: 90 });
    expect(up.established?.all, JSON.stringify(up.established)).toBe(true);
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    page.on('request', (r) => void requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => void consoleErrors.push(String(err)));
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await sweep(RUN);
  });

  it('signs in through the form and keeps the token out of the page: an HttpOnly, SameSite=Strict cookie', async () => {
    await page.goto(`${served.url}/ui`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#login:not([hidden])');
    await page.type('#token', TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('#login button[type=submit]')]);
    await page.waitForSelector('#app:not([hidden])');
    const cookies = await browser.cookies();
    const session = cookies.find((c) => c.name === 'nslab_session');
    expect(session, JSON.stringify(cookies)).toBeDefined();
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    expect(session?.path).toBe('/');
    expect(session?.value).not.toContain(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('draws the topology: both routers and their session, green', async () => {
    await page.waitForSelector('[data-node="webui-wr1"]', { timeout: 15_000 });
    await page.waitForSelector('[data-node="webui-wr2"]');
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'up', { timeout: 15_000 }, SESSION);
    expect(await stateOf('[data-node="webui-wr1"]')).toBe('up');
    expect(await stateOf('[data-node="webui-wr2"]')).toBe('up');
    const labels = await page.$$eval('svg.graph text', (ts) => ts.map((t) => t.textContent));
    expect(labels).toEqual(expect.arrayContaining(['wr1', 'wr2', 'BGP Established']));
    // The description is text, not markup.
    expect(await page.$eval('[data-topology="webui"]', (e) => e.textContent)).toContain(HOSTILE);
    expect(await page.$$eval('img, [data-topology="webui"] b', (es) => es.length)).toBe(0);
    // The edge is drawn green (the colour comes from the stylesheet, by state).
    const stroke = await page.$eval(`${SESSION} path`, (p) => getComputedStyle(p).stroke);
    expect(stroke).toBe('rgb(43, 147, 72)');
  });

  it('recolours the edge and the node within seconds of a docker kill, without a reload', async () => {
    // Let the watcher take its first reading of both daemons.
    await new Promise((r) => setTimeout(r, 3000));
    await page.evaluate(() => {
      window.stillHere = 1;
    });
    const killedAt = Date.now();
    await docker('docker', ['kill', 'webui-wr2']);
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'down', { timeout: 10_000 }, SESSION);
    const seenMs = Date.now() - killedAt;
    await page.waitForFunction(() => document.querySelector('[data-node="webui-wr2"]')?.getAttribute('data-state') === 'down', {
      timeout: 10_000,
    });
    process.stdout.write(`web view: the session edge turned red ${seenMs} ms after docker kill\n`);
    expect(seenMs).toBeLessThan(10_000);
    expect(await page.evaluate(() => window.stillHere)).toBe(1);
    const stroke = await page.$eval(`${SESSION} path`, (p) => getComputedStyle(p).stroke);
    expect(stroke).toBe('rgb(208, 0, 0)');
    // The event log shows it.
    await page.waitForFunction(() => [...document.querySelectorAll('#events .type')].some((e) => e.textContent === 'node_died'));
  });

  it("shows a node's status and routes on click", async () => {
    await page.click('[data-node="webui-wr1"]');
    await page.waitForSelector('#node [data-field="daemon"]', { timeout: 20_000 });
    expect(await page.$eval('#node h3', (e) => e.textContent)).toBe('webui-wr1');
    expect(await page.$eval('#node [data-field="daemon"]', (e) => e.textContent)).toBe('running');
    const cells = await page.$$eval('#node td', (tds) => tds.map((t) => t.textContent));
    expect(cells.join(' ')).toContain('10.175.201.0/24');
  });

  it('runs topology_verify from the button and shows its result', async () => {
    await page.click('[data-topology="webui"] header button');
    await page.waitForFunction(
      () => /verify (passed|failed)/.test(document.querySelector('[data-topology="webui"] .verify')?.textContent ?? ''),
      {
        timeout: 60_000,
      },
    );
    const text = await page.$eval('[data-topology="webui"] .verify', (e) => e.textContent ?? '');
    expect(text).toContain('verify failed');
    mkdirSync(join(root, '.nslab-test'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    process.stdout.write(`web view screenshot: ${SCREENSHOT}\n`);
  });

  it('loaded nothing from another origin, printed no console errors, and never shows the token', async () => {
    const origin = new URL(served.url).origin;
    const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    expect(foreign).toEqual([]);
    expect(requests.some((u) => u.endsWith('/ui/app.js'))).toBe(true);
    expect(consoleErrors).toEqual([]);
    const html = await page.content();
    expect(html).not.toContain(TOKEN);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored).not.toContain(TOKEN);
    expect(await page.$eval('#token', (e) => (e as any).value)).toBe('');
  });

  it('signs out: back to the form, and the API refuses the old cookie', async () => {
    const before = (await browser.cookies()).find((c) => c.name === 'nslab_session')?.value ?? '';
    await Promise.all([page.waitForNavigation(), page.click('#logout button')]);
    await page.waitForSelector('#login:not([hidden])');
    expect((await browser.cookies()).find((c) => c.name === 'nslab_session')).toBeUndefined();
    const r = await fetch(`${served.url}/topologies`, { headers: { Cookie: `nslab_session=${before}` } });
    expect(r.status).toBe(401);
  });
});
