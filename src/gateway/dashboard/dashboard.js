// Switchboard live operations dashboard. Plain JS, no build step: this file is embedded in the
// gateway binary and served by the admin listener next to index.html and dashboard.css.
//
// Data: Server-Sent Events from api/v1/events (one `stats` event a second). The admin token comes
// from the page URL (?token=...) and goes back in the query string, because EventSource cannot
// set an Authorization header.
//
// Every element a test reads has a stable data-testid; numbers also carry their raw value in
// data-value so tests never have to parse formatted text.
'use strict';

(function () {
  const WARN_RATIO = 0.8;          // amber once the oldest wait passes 80% of the lane's SLA
  const STALE_MS = 3500;           // stats arrive every second: 3 missed ticks means stale
  const DEAD_MS = 10000;           // stream open but silent this long: assume a stuck proxy, reconnect
  const WINDOW_MS = 10 * 60 * 1000; // sparkline window: history covers the last 10 minutes
  const LANES = [['vip', 'VIP'], ['standard', 'Standard']];
  // Short enough to fit one line on a laptop; the panel title says these are handoffs to humans.
  const HANDOFF_LABELS = {
    customer_request: 'Customer asked',
    bot_request: 'Bot asked',
    bot_unresolved: 'Bot unresolved',
    negative_sentiment: 'Negative sentiment',
    rule: 'Routing rule',
    bot_unavailable: 'Bot unavailable',
  };

  // ---- token -------------------------------------------------------------------------------
  // Keep the token for this tab in sessionStorage and take it out of the address bar: the page
  // runs on a big screen that people photograph. Only strip it if we could store it, so a reload
  // still works.
  const TOKEN_KEY = 'switchboard.admin_token';
  const params = new URLSearchParams(location.search);
  let token = params.get('token');
  let stored = false;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else token = sessionStorage.getItem(TOKEN_KEY);
    stored = true;
  } catch (_) { /* storage disabled: the token just stays in the URL */ }
  if (stored && params.has('token')) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  // Relative, so the page also works behind a reverse proxy that mounts it under a prefix.
  const api = (path) => path + '?token=' + encodeURIComponent(token || '');

  // ---- formatting --------------------------------------------------------------------------
  const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const isNum = (x) => typeof x === 'number' && isFinite(x);
  const fmtInt = (n) => (isNum(n) ? nf.format(n) : '–');
  // One decimal only while the rate is small, where it is the difference between 0 and not 0.
  const fmtRate = (n) => (!isNum(n) ? '–' : n < 10 ? n.toFixed(1) : nf.format(n));
  const fmtPct = (x) => (isNum(x) ? Math.round(x * 100) + '%' : '–');
  const pad2 = (n) => String(n).padStart(2, '0');
  function fmtDur(s) {
    if (!isNum(s)) return '–';
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + ':' + pad2(s % 60);
    return Math.floor(s / 3600) + 'h ' + pad2(Math.floor(s / 60) % 60) + 'm';
  }
  function fmtUptime(s) {
    if (!isNum(s)) return '–';
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return d ? d + 'd ' + h + 'h' : h ? h + 'h ' + pad2(m) + 'm' : m + 'm ' + pad2(Math.floor(s) % 60) + 's';
  }

  // ---- DOM helpers -------------------------------------------------------------------------
  const byTestId = (id) => document.querySelector('[data-testid="' + CSS.escape(id) + '"]');
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === 'class') n.className = attrs[k];
      else if (k === 'testid') n.dataset.testid = attrs[k];
      else n.setAttribute(k, attrs[k]);
    }
    n.append(...kids);
    return n;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const n = document.createElementNS(SVG, tag);
    for (const k in attrs) n.setAttribute(k, attrs[k]);
    return n;
  }
  // Text plus the raw number, so the test compares values rather than formatting.
  function setNum(node, value, fmt) {
    node.textContent = fmt(value);
    node.dataset.value = isNum(value) ? String(value) : '';
  }
  function laneState(oldest, target) {
    if (!isNum(oldest) || !isNum(target) || target <= 0) return 'ok';
    if (oldest > target) return 'breach';
    if (oldest > target * WARN_RATIO) return 'warn';
    return 'ok';
  }
  const RANK = { ok: 0, warn: 1, breach: 2 };

  // ---- building the tenant sections ----------------------------------------------------------
  // Built once per shape (tenants, queues, handoff reasons) and then only updated in place, so the
  // screen does not flicker and test ids stay attached to the same nodes.
  let shape = '';
  let views = [];
  let breaches = 0; // queues in breach right now, for the tab title

  function shapeOf(tenants) {
    return JSON.stringify(tenants.map((t) => [t.id, (t.queues || []).map((q) => q.name),
      Object.keys(t.handoffs_5m || {})]));
  }

  function buildQueue(q) {
    const id = 'queue-' + q.name;
    const v = { lanes: {} };
    v.badge = el('span', { class: 'badge', testid: id + '-badge' });
    const lanes = el('div', { class: 'lanes' });
    for (const [lane, label] of LANES) {
      const l = {
        root: el('div', { class: 'lane', testid: id + '-lane-' + lane }),
        count: el('span', { class: 'count', testid: id + '-waiting-' + lane }),
        oldest: el('b', { testid: id + '-oldest-' + lane }),
        target: el('span', { testid: id + '-target-' + lane }),
        fill: el('i'),
      };
      l.root.append(
        el('div', { class: 'lane-head' }, el('span', { class: 'lane-name' }, label),
          el('span', { class: 'target' }, 'SLA ', l.target)),
        el('div', {}, l.count, el('span', { class: 'unit' }, ' waiting')),
        el('div', { class: 'wait' }, 'oldest ', l.oldest),
        el('div', { class: 'meter', 'aria-hidden': 'true' }, l.fill, el('span', { class: 'tick' })));
      lanes.append(l.root);
      v.lanes[lane] = l;
    }
    v.ewt = el('b', { testid: id + '-ewt' });
    v.sla = el('b', { testid: id + '-sla-5m' });
    v.answered = el('b', { testid: id + '-answered-per-min' });
    v.recommended = el('b', { testid: id + '-recommended' });
    v.root = el('article', { class: 'queue', testid: id },
      el('header', {}, el('h3', {}, q.name), v.badge),
      lanes,
      el('footer', { class: 'facts' },
        el('span', {}, 'est. wait ', v.ewt),
        el('span', {}, 'SLA met (5m) ', v.sla),
        el('span', {}, 'answered ', v.answered, '/min'),
        el('span', { title: 'agents Erlang C recommends for the last 5 minutes' }, 'staff for SLA ', v.recommended)));
    return v;
  }

  function buildSpark(testid, label) {
    const s = {
      value: el('b', { class: 'spark-now', testid: testid + '-now' }),
      peak: el('span', { testid: testid + '-peak' }),
      area: svg('path', { class: 'area' }),
      line: svg('polyline', { class: 'line', 'vector-effect': 'non-scaling-stroke' }),
    };
    const g = svg('svg', { viewBox: '0 0 300 60', preserveAspectRatio: 'none', class: 'spark-svg',
      role: 'img', 'aria-label': label + ', last 10 minutes' });
    g.append(s.area, s.line);
    s.root = el('div', { class: 'spark', testid },
      el('div', { class: 'spark-head' }, el('span', {}, label), s.value),
      g,
      el('div', { class: 'spark-axis' }, el('span', {}, '−10 min'), el('span', {}, 'peak ', s.peak), el('span', {}, 'now')));
    return s;
  }

  function buildTenant(t) {
    const v = { queues: new Map(), agents: {}, handoffs: {} };
    const queues = el('div', { class: 'queues' });
    for (const q of t.queues || []) {
      const qv = buildQueue(q);
      v.queues.set(q.name, qv);
      queues.append(qv.root);
    }
    const agents = el('div', { class: 'agent-grid' });
    for (const [key, label] of [['available', 'Available'], ['away', 'Away'], ['offline', 'Offline'], ['bots', 'Bots']]) {
      v.agents[key] = el('div', { class: 'value', testid: 'agents-' + key });
      agents.append(el('div', { class: 'agent ' + key }, v.agents[key], el('div', { class: 'label' }, label)));
    }
    v.util = el('b', { testid: 'agents-utilisation' });
    v.utilFill = el('i');
    const handoffs = el('div', { class: 'handoffs' });
    // Known reasons in a fixed order (rows must not jump around), then any the gateway adds later.
    const reasons = Object.keys(HANDOFF_LABELS).concat(
      Object.keys(t.handoffs_5m || {}).filter((r) => !(r in HANDOFF_LABELS)));
    for (const r of reasons) {
      const h = { count: el('b', { testid: 'handoff-' + r }), fill: el('i') };
      handoffs.append(el('div', { class: 'handoff' },
        el('span', { class: 'reason' }, HANDOFF_LABELS[r] || r.replace(/_/g, ' ')),
        el('span', { class: 'bar' }, h.fill), h.count));
      v.handoffs[r] = h;
    }
    v.handoffTotal = el('b', { testid: 'handoffs-total' });
    v.sparkWaiting = buildSpark('spark-waiting', 'Waiting');
    v.sparkMsgs = buildSpark('spark-msgs', 'Messages / s');
    v.waiting = el('b', { testid: 'total-waiting-tenant' });
    v.root = el('section', { class: 'tenant', testid: 'tenant-' + t.id },
      el('h2', {}, 'Tenant ', el('span', { class: 'tid' }, t.id), el('span', { class: 'tw' }, v.waiting, ' waiting')),
      queues,
      el('div', { class: 'panels' },
        el('section', { class: 'panel', testid: 'agents' },
          el('h3', {}, 'Agents'), agents,
          el('div', { class: 'util' }, el('span', {}, 'Utilisation'), el('span', { class: 'bar' }, v.utilFill), v.util)),
        el('section', { class: 'panel', testid: 'handoffs' },
          el('h3', { class: 'split' }, el('span', {}, 'Handoffs to humans, 5 min'), el('span', {}, v.handoffTotal, ' total')),
          handoffs),
        el('section', { class: 'panel', testid: 'trend' },
          el('h3', {}, 'Last 10 minutes'), v.sparkWaiting.root, v.sparkMsgs.root)));
    return v;
  }

  // ---- updating ----------------------------------------------------------------------------
  function updateQueue(v, q) {
    let worst = 'ok';
    for (const [lane] of LANES) {
      const l = v.lanes[lane];
      const oldest = (q.oldest_wait_secs || {})[lane];
      const target = (q.sla_target_secs || {})[lane];
      const state = laneState(oldest, target);
      if (RANK[state] > RANK[worst]) worst = state;
      l.root.dataset.state = state;
      setNum(l.count, (q.waiting || {})[lane] ?? 0, fmtInt);
      setNum(l.oldest, oldest, fmtDur);
      setNum(l.target, target, fmtDur);
      l.fill.style.width = isNum(oldest) && target > 0 ? Math.min(100, (oldest / target) * 100) + '%' : '0';
    }
    v.root.dataset.state = worst;
    v.badge.textContent = { ok: 'Within SLA', warn: 'Near SLA', breach: 'SLA BREACHED' }[worst];
    setNum(v.ewt, q.ewt_secs, fmtDur);
    setNum(v.sla, q.sla_attainment_5m, fmtPct);
    v.sla.title = q.sla_attainment_5m == null ? 'nothing answered in the last 5 minutes' : '';
    setNum(v.answered, q.answered_per_min, fmtInt);
    setNum(v.recommended, q.recommended_agents, fmtInt);
    return worst;
  }

  // `now`: the live value for the headline when there is one; history is only every 5 s and
  // the headline must agree with the big numbers above it.
  function updateSpark(s, points, key, endMs, fmt, now) {
    const pts = points.filter((p) => isNum(p[key]) && isNum(p.t) && p.t >= endMs - WINDOW_MS);
    const peak = pts.reduce((m, p) => Math.max(m, p[key]), isNum(now) ? now : 0);
    // The y axis always starts at zero: a flat line near the top must mean "high", not "noise".
    const top = peak > 0 ? peak * 1.1 : 1;
    const xy = pts.map((p) => [((p.t - (endMs - WINDOW_MS)) / WINDOW_MS) * 300, 60 - (p[key] / top) * 58]);
    if (xy.length === 1) xy.unshift([xy[0][0] - 2, xy[0][1]]); // one point still draws a stub
    const str = xy.map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1)).join(' ');
    s.line.setAttribute('points', str);
    s.area.setAttribute('d', xy.length ? 'M' + xy[0][0].toFixed(1) + ',60 L' + str.replace(/ /g, ' L') +
      ' L' + xy[xy.length - 1][0].toFixed(1) + ',60 Z' : '');
    setNum(s.peak, pts.length ? peak : null, fmt);
    setNum(s.value, isNum(now) ? now : pts.length ? pts[pts.length - 1][key] : null, fmt);
  }

  function updateTenant(v, t, endMs) {
    let waiting = 0, breached = 0;
    for (const q of t.queues || []) {
      const qv = v.queues.get(q.name);
      if (updateQueue(qv, q) === 'breach') breached++;
      waiting += ((q.waiting || {}).vip || 0) + ((q.waiting || {}).standard || 0);
    }
    setNum(v.waiting, waiting, fmtInt);
    const a = t.agents || {};
    for (const k in v.agents) setNum(v.agents[k], a[k], fmtInt);
    setNum(v.util, a.utilisation, fmtPct);
    v.utilFill.style.width = isNum(a.utilisation) ? Math.min(100, a.utilisation * 100) + '%' : '0';
    const h = t.handoffs_5m || {};
    const max = Math.max(1, ...Object.values(h).filter(isNum));
    let total = 0;
    for (const r in v.handoffs) {
      const n = h[r] || 0;
      total += n;
      setNum(v.handoffs[r].count, n, fmtInt);
      v.handoffs[r].fill.style.width = (n / max) * 100 + '%';
    }
    setNum(v.handoffTotal, total, fmtInt);
    const hist = t.history || [];
    updateSpark(v.sparkWaiting, hist, 'waiting', endMs, fmtInt, waiting);
    updateSpark(v.sparkMsgs, hist, 'messages_per_sec', endMs, fmtRate);
    return { waiting, breached };
  }

  function render(d) {
    const g = d.gateway || {};
    const c = g.connections || {};
    setNum(byTestId('msgs-per-sec'), g.messages_in_per_sec, fmtRate);
    setNum(byTestId('msgs-out-per-sec'), g.messages_out_per_sec, fmtRate);
    for (const k of ['agent', 'bot', 'connector']) setNum(byTestId('connections-' + k), c[k], fmtInt);
    const ready = byTestId('ready');
    ready.textContent = g.ready === false ? 'DRAINING' : g.ready ? 'Ready' : '–';
    ready.dataset.state = g.ready === false ? 'warn' : 'ok';
    setNum(byTestId('uptime'), d.uptime_secs, fmtUptime);
    byTestId('generated-at').textContent = isNum(d.generated_at_ms)
      ? new Date(d.generated_at_ms).toLocaleTimeString('en-GB') : '–';

    const tenants = d.tenants || [];
    const s = shapeOf(tenants);
    if (s !== shape) {
      shape = s;
      views = tenants.map(buildTenant);
      byTestId('tenants').replaceChildren(...views.map((v) => v.root));
      document.body.classList.toggle('single-tenant', tenants.length === 1);
    }
    // Sparklines end at the server's clock, not ours: the two may disagree.
    const end = isNum(d.generated_at_ms) ? d.generated_at_ms : Date.now();
    let waiting = 0;
    breaches = 0;
    tenants.forEach((t, i) => {
      const r = updateTenant(views[i], t, end);
      waiting += r.waiting;
      breaches += r.breached;
    });
    setNum(byTestId('total-waiting'), waiting, fmtInt);
  }

  // ---- connection --------------------------------------------------------------------------
  // conn: connecting | live | reconnecting | denied | notoken. "Stale" is derived from the age of
  // the last event, so a silently stuck stream is caught too.
  let conn = 'connecting';
  let lastDataAt = 0;   // performance.now() of the last stats event; 0 = none yet
  let es = null;
  let retryTimer = 0;
  let backoff = 1000;
  let noAdminToken = false;

  function connect() {
    clearTimeout(retryTimer);
    if (es) es.close();
    const src = new EventSource(api('api/v1/events'));
    es = src;
    src.addEventListener('stats', (e) => {
      let d;
      try { d = JSON.parse(e.data); } catch (err) { console.warn('bad stats event', err); return; }
      lastDataAt = performance.now();
      conn = 'live';
      backoff = 1000;
      render(d);
      paintConn();
    });
    src.onerror = () => {
      if (src !== es) return; // an old stream we already replaced
      // CONNECTING: the browser retries by itself (network error, server restart).
      // CLOSED: it gave up (HTTP error such as 401 or a proxy's 502); we retry ourselves.
      if (src.readyState === EventSource.CLOSED) retry();
      else conn = 'reconnecting';
      paintConn();
    };
  }

  async function retry() {
    if (es) es.close();
    clearTimeout(retryTimer);
    let wait = backoff;
    backoff = Math.min(backoff * 2, 15000);
    if (conn !== 'denied') conn = 'reconnecting'; // no flicker while a bad token is retried
    // EventSource hides the HTTP status; ask the plain endpoint so a bad token is told apart
    // from an outage instead of spinning on "reconnecting" forever.
    let denied = false;
    try {
      const r = await fetch(api('api/v1/stats'), { cache: 'no-store', signal: AbortSignal.timeout(5000) });
      denied = r.status === 401 || r.status === 403;
      noAdminToken = r.status === 403; // the gateway answers 403 when it has no admin token set
    } catch (_) { /* down: keep reconnecting */ }
    conn = denied ? 'denied' : 'reconnecting';
    if (denied) wait = 30000;
    paintConn();
    retryTimer = setTimeout(connect, wait);
  }

  function paintConn() {
    const age = lastDataAt ? performance.now() - lastDataAt : Infinity;
    let state = conn;
    if (conn === 'live' && age > STALE_MS) state = 'stale';
    if (conn === 'live' && age > DEAD_MS && es && es.readyState === EventSource.OPEN) retry();
    const label = {
      connecting: 'Connecting…',
      live: 'Live',
      stale: 'Stale — no update',
      reconnecting: 'Connection lost — reconnecting',
      denied: 'Access denied',
      notoken: 'No admin token',
    }[state];
    const status = byTestId('status');
    status.textContent = label;
    status.dataset.state = state;
    document.body.dataset.state = state;

    const secs = Math.floor(age / 1000);
    const ageText = !lastDataAt ? 'no data yet'
      : state === 'live' && secs < 2 ? 'updated just now' : 'last update ' + fmtDur(secs) + ' ago';
    const ageEl = byTestId('staleness');
    ageEl.textContent = ageText;
    ageEl.dataset.value = lastDataAt ? String(Math.round(age)) : '';

    const banner = byTestId('banner');
    const msg = {
      stale: 'No update for ' + fmtDur(secs) + '. The figures below are frozen.',
      reconnecting: 'Connection to the gateway lost — reconnecting. ' +
        (lastDataAt ? 'The figures below are ' + fmtDur(secs) + ' old.' : 'No data received yet.'),
      denied: noAdminToken ? 'The gateway has no admin token configured (gateway.admin_token): the API is off.'
        : 'The gateway refused the admin token. Open this page as /?token=YOUR_ADMIN_TOKEN.',
      notoken: 'No admin token. Open this page as /?token=YOUR_ADMIN_TOKEN.',
    }[state];
    banner.hidden = !msg;
    banner.textContent = msg || '';
    banner.dataset.state = state;

    document.title = (state !== 'live' ? '✖ ' + label : breaches ? '⚠ ' + breaches + ' SLA breached' : 'Live') +
      ' — Switchboard';
  }

  if (!token) conn = 'notoken';
  else connect();
  paintConn();
  // Re-paint twice a second so the staleness age keeps counting while no events arrive.
  setInterval(paintConn, 500);
})();
