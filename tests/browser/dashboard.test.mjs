// Browser check of the Switchboard live operations dashboard, in headless Debian Chromium driven
// by playwright-core (which never downloads a browser). See README.md for how to run it.
//
//   DASHBOARD_URL   page URL with the admin token, e.g. http://127.0.0.1:9090/?token=XYZ (required)
//   EXPECT_QUEUES   comma-separated queue names that must appear, e.g. general,after_sales,vip
//   SCREENSHOT      where to write a PNG of the page at the end (pass or fail); optional
//   CHANGE_TIMEOUT_MS  how long to wait for the numbers to move under load (default 30000)
//   CHROMIUM        browser binary (default /usr/bin/chromium)
//   VIEWPORT        WIDTHxHEIGHT (default 1920x1080, the wall screen)
//
// Exit code 0 when every check passes, 1 when one fails, 2 when the test could not run at all.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = process.env;
const url = env.DASHBOARD_URL;
const expectQueues = (env.EXPECT_QUEUES || '').split(',').map((s) => s.trim()).filter(Boolean);
const changeTimeoutMs = Number(env.CHANGE_TIMEOUT_MS || 30000);
const [width, height] = (env.VIEWPORT || '1920x1080').split('x').map(Number);
const LOAD_TIMEOUT_MS = 15000;

// The token is a secret: never print it.
const redact = (s) => String(s).replace(/([?&]token=)[^&#\s]*/g, '$1***');

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   - ${name}${detail ? ` (${detail})` : ''}`);
  } catch (err) {
    failed++;
    // First line only: Playwright appends a multi-line call log.
    console.log(`FAIL - ${name}: ${redact(String(err.message).split('\n')[0])}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tid = (id) => `[data-testid="${id}"]`;

// Everything under load that should move: gateway message rate, every lane's waiting count, the
// total. Read from data-value (the raw number), not the formatted text.
function snapshot(page) {
  return page.evaluate(() => {
    const out = {};
    const read = (n) => {
      const tenant = n.closest('[data-testid^="tenant-"]');
      out[(tenant ? tenant.dataset.testid.slice(7) + '/' : '') + n.dataset.testid] = n.dataset.value;
    };
    document.querySelectorAll('[data-testid="msgs-per-sec"], [data-testid="total-waiting"], [data-testid*="-waiting-"]').forEach(read);
    return out;
  });
}

async function main() {
  if (!url) {
    console.error('DASHBOARD_URL is not set (e.g. DASHBOARD_URL="http://127.0.0.1:9090/?token=XYZ")');
    console.log('dashboard: 0 passed, 1 failed');
    return 2;
  }
  // A fresh profile every run: no cached page, no stored token from an earlier run.
  const profile = await mkdtemp(join(tmpdir(), 'switchboard-dashboard-'));
  let context;
  try {
    // Playwright passes --user-data-dir itself (it refuses it in args), so the fresh profile
    // goes in as launchPersistentContext's first argument.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width, height },
      timeout: 30000,
    });
  } catch (err) {
    console.error(`could not start Chromium: ${err.message}`);
    console.log('dashboard: 0 passed, 1 failed');
    await rm(profile, { recursive: true, force: true });
    return 2;
  }

  const page = context.pages()[0] || (await context.newPage());
  const scriptErrors = [];
  page.on('pageerror', (err) => scriptErrors.push(err.message));

  await check('page loads and receives live stats', async () => {
    const res = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: LOAD_TIMEOUT_MS });
    if (!res || !res.ok()) throw new Error(`GET ${redact(url)} answered ${res ? res.status() : 'nothing'}`);
    try {
      await page.waitForSelector(`${tid('status')}[data-state="live"]`, { timeout: LOAD_TIMEOUT_MS });
    } catch {
      const status = await page.textContent(tid('status')).catch(() => '?');
      throw new Error(`status did not become "Live" within ${LOAD_TIMEOUT_MS / 1000} s; it says "${status}"`);
    }
    return (await page.textContent(tid('status'))).trim();
  });

  await check('configured queues are shown', async () => {
    if (expectQueues.length === 0) {
      // Nothing configured: at least one queue card must render.
      const n = await page.locator('article[data-testid^="queue-"]').count();
      if (n === 0) throw new Error('no queue on the page (set EXPECT_QUEUES to name them)');
      return `${n} queue(s); EXPECT_QUEUES not set`;
    }
    const missing = [];
    for (const q of expectQueues) {
      if ((await page.locator(tid(`queue-${q}`)).count()) === 0) missing.push(q);
    }
    if (missing.length) {
      const shown = await page.$$eval('article[data-testid^="queue-"]', (ns) => ns.map((n) => n.dataset.testid.slice(6)));
      throw new Error(`missing queue(s) ${missing.join(', ')}; the page shows: ${shown.join(', ') || 'none'}`);
    }
    return expectQueues.join(', ');
  });

  await check(`numbers change while load runs (within ${changeTimeoutMs / 1000} s)`, async () => {
    const first = await snapshot(page);
    if (Object.keys(first).length === 0) throw new Error('no msgs-per-sec or waiting counts on the page');
    const deadline = Date.now() + changeTimeoutMs;
    while (Date.now() < deadline) {
      await sleep(500);
      const now = await snapshot(page);
      const moved = Object.keys(now).filter((k) => now[k] !== first[k]);
      if (moved.length) {
        const k = moved.includes('msgs-per-sec') ? 'msgs-per-sec' : moved[0];
        return `${k}: ${first[k]} -> ${now[k]}`;
      }
    }
    const status = await page.textContent(tid('status')).catch(() => '?');
    throw new Error(`msgs-per-sec stayed ${first['msgs-per-sec'] ?? 'absent'} and no waiting count changed ` +
      `in ${changeTimeoutMs / 1000} s (status: "${status}"). Is the load generator running against this gateway?`);
  });

  await check('no uncaught script errors', async () => {
    if (scriptErrors.length) throw new Error(scriptErrors.join(' | '));
  });

  if (env.SCREENSHOT) {
    try {
      await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
      console.log(`screenshot: ${env.SCREENSHOT}`);
    } catch (err) {
      console.log(`screenshot failed: ${err.message}`);
    }
  }
  await context.close();
  await rm(profile, { recursive: true, force: true });
  console.log(`dashboard: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

// Never hang a CI job: the whole run must finish well inside this.
const watchdog = setTimeout(() => {
  console.log('dashboard: timed out after 120 s');
  console.log(`dashboard: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, 120000);
watchdog.unref();

process.exitCode = await main();
