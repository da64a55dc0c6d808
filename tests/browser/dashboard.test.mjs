// Browser check of the Switchboard live operations dashboard, in headless Debian Chromium driven
// by playwright-core (which never downloads a browser). See README.md for how to run it.
//
//   DASHBOARD_URL   page URL with the admin token, e.g. http://127.0.0.1:9090/?token=XYZ (required)
//   EXPECT_QUEUES   comma-separated queue names that must appear, e.g. general,after_sales,vip
//   SCREENSHOT      where to write a PNG of the page at the end (pass or fail); optional
//   CHANGE_TIMEOUT_MS  how long to wait for the numbers to move under load (default 30000)
//   METRICS_URL     the gateway's /metrics (default: /metrics on DASHBOARD_URL's origin)
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
const metricsUrl = env.METRICS_URL || (url ? new URL('/metrics', url).href : '');
// How many page/metrics comparisons may disagree (a gauge moved between the page's last event
// and the scrape) before the agreement check fails: one try a second.
const AGREE_TRIES = 10;
// Seconds over which the message rate is measured from the counters: the page's rate is the
// shard's count over the last 5 s.
const RATE_WINDOW_S = 5;

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


// ---- the gateway's own numbers --------------------------------------------------------------

// Prometheus text -> [{ name, labels, value }].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v.replace(/\\(.)/g, '$1');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape() {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${metricsUrl} answered ${res.status}`);
  return { at: Date.now(), samples: parseMetrics(await res.text()) };
}

// Sum of the samples of `name` whose labels include `want`; undefined when there is none.
function metric(s, name, want = {}) {
  let sum;
  for (const x of s.samples) {
    if (x.name !== name) continue;
    if (Object.entries(want).every(([k, v]) => x.labels[k] === v)) sum = (sum ?? 0) + x.value;
  }
  return sum;
}

// What the page shows now, with the stats event it last rendered (recorded by the init script).
function pageState(page) {
  return page.evaluate(() => {
    const shown = {};
    document.querySelectorAll('[data-testid][data-value]').forEach((n) => {
      const tenant = n.closest('[data-testid^="tenant-"]');
      const key = (tenant && tenant !== n ? tenant.dataset.testid.slice(7) + '/' : '') + n.dataset.testid;
      shown[key] = { value: n.dataset.value, text: n.textContent.trim() };
    });
    const last = window.__switchboardStats;
    return { shown, event: last ? JSON.parse(last.data) : null, events: last ? last.count : 0, body: document.body.innerText };
  });
}

// The value each numeric panel must show for a stats event: key (as pageState builds it) -> number|null.
function expectedPanels(d) {
  const want = {};
  const g = d.gateway || {};
  want['msgs-per-sec'] = g.messages_in_per_sec;
  want['msgs-out-per-sec'] = g.messages_out_per_sec;
  for (const r of ['agent', 'bot', 'connector']) want[`connections-${r}`] = (g.connections || {})[r];
  want.uptime = d.uptime_secs;
  let total = 0;
  for (const t of d.tenants || []) {
    const p = `${t.id}/`;
    let tenantWaiting = 0;
    for (const q of t.queues || []) {
      for (const lane of ['vip', 'standard']) {
        const n = (q.waiting || {})[lane] ?? 0;
        tenantWaiting += n;
        want[`${p}queue-${q.name}-waiting-${lane}`] = n;
        want[`${p}queue-${q.name}-oldest-${lane}`] = (q.oldest_wait_secs || {})[lane];
        want[`${p}queue-${q.name}-target-${lane}`] = (q.sla_target_secs || {})[lane];
      }
      want[`${p}queue-${q.name}-ewt`] = q.ewt_secs;
      want[`${p}queue-${q.name}-sla-5m`] = q.sla_attainment_5m;
      want[`${p}queue-${q.name}-answered-per-min`] = q.answered_per_min;
    }
    const a = t.agents || {};
    for (const k of ['available', 'away', 'offline', 'bots']) want[`${p}agents-${k}`] = a[k];
    want[`${p}agents-utilisation`] = a.utilisation;
    want[`${p}total-waiting-tenant`] = tenantWaiting;
    total += tenantWaiting;
  }
  want['total-waiting'] = total;
  return want;
}

// Panels that always have a number (the others may show "–": no answer yet, no estimate).
const ALWAYS_NUMERIC = /^(msgs-(out-)?per-sec|connections-\w+|uptime|total-waiting|.*\/queue-.*-(waiting|target)-(vip|standard)|.*\/queue-.*-answered-per-min|.*\/agents-\w+|.*\/total-waiting-tenant)$/;

// Where what the page shows and /metrics must agree, and by how much: a gauge may sit anywhere
// between the scrapes taken just before and just after reading the page, plus `tol`. The event
// only gives the page's structure (tenants, queues); every number compared is read off the page.
function compareWithMetrics(d, shown, before, after, earlier) {
  const problems = [];
  const num = (key) => (shown[key] && shown[key].value !== '' ? Number(shown[key].value) : undefined);
  const near = (what, shown, a, b, tol) => {
    if (a === undefined || b === undefined) { problems.push(`${what}: not in /metrics`); return; }
    const lo = Math.min(a, b) - tol, hi = Math.max(a, b) + tol;
    if (!(typeof shown === 'number' && shown >= lo && shown <= hi)) {
      problems.push(`${what}: page ${shown}, /metrics ${a === b ? a : `${a}..${b}`} (tolerance ${+tol.toFixed(3)})`);
    }
  };
  const both = (name, labels) => [metric(before, name, labels), metric(after, name, labels)];
  for (const role of ['connector', 'agent', 'bot']) {
    near(`connections ${role}`, num(`connections-${role}`), ...both('switchboard_connections', { role }), 0);
  }
  // Rate: the counter's growth over the last RATE_WINDOW_S against the shard's 5 s window,
  // which also counts the current, partial second: within 35% + 5 msg/s.
  const received = (s) => metric(s, 'switchboard_messages_received_total');
  const rate = (received(after) - received(earlier)) / ((after.at - earlier.at) / 1000);
  near('messages in per second', num('msgs-per-sec'), rate, rate, 0.35 * rate + 5);
  for (const t of d.tenants || []) {
    for (const q of t.queues || []) {
      for (const lane of ['vip', 'standard']) {
        const labels = { tenant: t.id, queue: q.name, lane };
        const p = `${t.id}/queue-${q.name}`;
        const n = num(`${p}-waiting-${lane}`);
        const [a, b] = both('switchboard_waiting_conversations', labels);
        near(`waiting ${t.id}/${q.name}/${lane}`, n, a, b, Math.max(2, 0.1 * Math.max(a ?? 0, b ?? 0)));
        near(`oldest wait ${t.id}/${q.name}/${lane}`, num(`${p}-oldest-${lane}`), ...both('switchboard_oldest_wait_seconds', labels), 2);
      }
      // A lane's target is its class's: vip for the VIP lane, standard for the other.
      for (const lane of ['vip', 'standard']) {
        near(`SLA target ${t.id}/${q.name}/${lane}`, num(`${t.id}/queue-${q.name}-target-${lane}`), ...both('switchboard_sla_target_seconds', { tenant: t.id, class: lane }), 0);
      }
    }
    const a = (k) => num(`${t.id}/agents-${k}`);
    near(`agents available ${t.id}`, a('available'), ...both('switchboard_agents', { tenant: t.id, role: 'agent', status: 'available' }), 0);
    near(`agents away ${t.id}`, a('away'), ...both('switchboard_agents', { tenant: t.id, role: 'agent', status: 'away' }), 0);
    near(`agents offline ${t.id}`, a('offline'), ...both('switchboard_agents', { tenant: t.id, role: 'agent', status: 'disconnected' }), 0);
    near(`bots ${t.id}`, a('bots'), ...both('switchboard_agents', { tenant: t.id, role: 'bot' }), 0);
    near(`utilisation ${t.id}`, a('utilisation'), ...both('switchboard_utilisation_ratio', { tenant: t.id }), 0.05);
  }
  return problems;
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

  // Record each stats event the page receives, before the dashboard's own listener renders it,
  // so a check can compare the panels with the exact event they show.
  await context.addInitScript(() => {
    const Native = window.EventSource;
    window.EventSource = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('stats', (e) => {
          const count = (window.__switchboardStats ? window.__switchboardStats.count : 0) + 1;
          window.__switchboardStats = { data: e.data, count };
        });
      }
    };
  });
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

  await check('every panel shows a number, and the number of the event it last received', async () => {
    // Two events apart, so a panel that stops following the stream is caught too.
    for (let round = 0; round < 2; round++) {
      const before = (await pageState(page)).events;
      const deadline = Date.now() + 5000;
      let st;
      do {
        await sleep(200);
        st = await pageState(page);
      } while (st.events <= before && Date.now() < deadline);
      if (!st.event) throw new Error('no stats event recorded');
      if (st.events <= before) throw new Error(`no new stats event in 5 s (still event ${before})`);
      const bad = [];
      for (const [k, { value, text }] of Object.entries(st.shown)) {
        if (!text || /NaN|undefined|Infinity|null/.test(text)) bad.push(`${k} shows "${text}"`);
        if (ALWAYS_NUMERIC.test(k) && !(value !== '' && Number.isFinite(Number(value)))) bad.push(`${k} has no number (data-value "${value}")`);
      }
      for (const [k, want] of Object.entries(expectedPanels(st.event))) {
        const got = st.shown[k];
        const expect = typeof want === 'number' && Number.isFinite(want) ? String(want) : '';
        if (!got) bad.push(`${k}: panel missing`);
        else if (got.value !== expect) bad.push(`${k}: shows ${got.value || '(none)'}, the event says ${expect || '(none)'}`);
      }
      if (/\bNaN\b|undefined/.test(st.body)) bad.push('the page text contains NaN or undefined');
      if (bad.length) throw new Error(bad.slice(0, 8).join('; ') + (bad.length > 8 ? `; … ${bad.length - 8} more` : ''));
    }
    return `${Object.keys(expectedPanels((await pageState(page)).event)).length} panels checked on two events`;
  });

  await check('the page is not stuck: events keep coming and uptime advances', async () => {
    const first = await pageState(page);
    await sleep(3000);
    const now = await pageState(page);
    const up0 = Number(first.shown.uptime?.value), up1 = Number(now.shown.uptime?.value);
    if (now.events < first.events + 2) throw new Error(`${now.events - first.events} stats event(s) in 3 s (one a second expected)`);
    // The page must render what keeps arriving, not just receive it.
    if (!(up1 - up0 >= 2)) throw new Error(`uptime went ${up0} -> ${up1} s in 3 s`);
    const latest = String(now.event.uptime_secs);
    if (now.shown.uptime.value !== latest) throw new Error(`uptime shows ${up1}, the last event says ${latest}`);
    const staleness = Number(now.shown.staleness?.value);
    if (Number.isFinite(staleness) && staleness > 3500) throw new Error(`the last event is ${staleness} ms old`);
    return `${now.events - first.events} events, uptime ${up0} -> ${up1} s`;
  });

  await check(`the page agrees with /metrics at the same moment (up to ${AGREE_TRIES} tries)`, async () => {
    // A counter scrape RATE_WINDOW_S before each comparison, for the message rate.
    const history = [await scrape()];
    await sleep(RATE_WINDOW_S * 1000);
    let problems = [];
    for (let i = 0; i < AGREE_TRIES; i++) {
      const before = await scrape();
      const st = await pageState(page);
      const after = await scrape();
      history.push(before, after);
      const earlier = history.filter((s) => s.at <= after.at - RATE_WINDOW_S * 1000).pop() || history[0];
      if (!st.event) { problems = ['no stats event recorded']; break; }
      problems = compareWithMetrics(st.event, st.shown, before, after, earlier);
      if (problems.length === 0) {
        const v = (k) => st.shown[k].value;
        return `try ${i + 1}: connections ${v('connections-connector')}/${v('connections-agent')}/` +
          `${v('connections-bot')}, ${v('msgs-per-sec')} msg/s in, every queue, lane and agent count`;
      }
      await sleep(1000);
    }
    throw new Error(problems.slice(0, 6).join('; ') + (problems.length > 6 ? `; … ${problems.length - 6} more` : ''));
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
