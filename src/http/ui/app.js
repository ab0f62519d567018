// netstream-lab web view (served at /ui by `nslab serve`; no build step, no dependencies).
// Each topology is drawn from GET /ui/layout/{name} (the Graphviz layout topology_graph uses) and
// recoloured from GET /events (Server-Sent Events). Everything from the lab is put in the page as
// text (textContent, createElement, setAttribute): never as HTML.

const EVENT_TYPES = [
  'session_up',
  'session_down',
  'node_died',
  'node_started',
  'drift',
  'fault_injected',
  'fault_cleared',
  'verify_passed',
  'verify_failed',
  'standup_done',
  'teardown_done',
];
const MAX_EVENTS = 100;
const SVG_NS = 'http://www.w3.org/2000/svg';

/** name -> {name, section, host, verify, nodes: Map, sessions: [], tunnels: [], running} */
const topologies = new Map();
let lastSeq = 0;
let source;
let reconnecting = false;
let selected;

const byId = (id) => document.getElementById(id);
/** A class name part from lab text: letters, digits, - and _ only. */
const cls = (s) => String(s ?? '').replace(/[^A-Za-z0-9_-]/g, '');

/** An HTML element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== false) e.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function s(tag, attrs = {}) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
  return e;
}

class SignedOut extends Error {}

/** A call to the REST API (the session cookie stands for the token). */
async function api(path, init = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...init, headers: { Accept: 'application/json', ...(init.headers ?? {}) } });
  if (res.status === 401) {
    showLogin(false);
    throw new SignedOut('signed out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

function notice(text) {
  const n = byId('notice');
  n.textContent = text ?? '';
  n.hidden = !text;
}

function setConn(text, look) {
  const c = byId('conn');
  c.textContent = text;
  c.className = `conn ${look ?? ''}`;
}

function showLogin(failed) {
  if (source) source.close();
  byId('app').hidden = true;
  byId('logout').hidden = true;
  byId('login').hidden = false;
  byId('login-failed').hidden = !failed;
  setConn('signed out', 'offline');
  byId('token').focus();
}

// --- drawing ------------------------------------------------------------------------------------

const nodeLook = (state) => (state === undefined ? 'unknown' : state === 'running' ? 'up' : 'down');

function sessionLook(e) {
  if (e.a_state === undefined && e.b_state === undefined) return 'unknown';
  return e.a_state === 'Established' && e.b_state === 'Established' ? 'up' : 'down';
}

function sessionText(e) {
  const look = sessionLook(e);
  if (look === 'up') return 'BGP Established';
  if (look === 'unknown') return 'BGP';
  return `BGP ${e.a_state ?? '?'}/${e.b_state ?? '?'}`;
}

function paintNode(n) {
  const look = nodeLook(n.data.state);
  n.g.setAttribute('class', `node kind-${cls(n.data.kind)} state-${look}${selected === n.data.name ? ' selected' : ''}`);
  n.g.dataset.state = look;
  n.title.textContent = `${n.data.key} (${n.data.kind}${n.data.asn ? ` AS${n.data.asn}` : ''}): ${n.data.state ?? 'not deployed'}`;
}

function paintSession(e) {
  const look = sessionLook(e.data);
  e.g.setAttribute('class', `edge session state-${look}`);
  e.g.dataset.state = look;
  if (e.label) e.label.textContent = sessionText(e.data);
  e.title.textContent = `${e.data.a} ⇄ ${e.data.b} (${e.data.via}): ${e.data.a_state ?? '?'} / ${e.data.b_state ?? '?'}`;
}

function paintTunnel(e) {
  const look = e.data.state ?? 'unknown';
  e.g.setAttribute('class', `edge tunnel state-${cls(look)}`);
  e.g.dataset.state = look;
}

function texts(parent, list) {
  for (const t of list ?? []) {
    const text = s('text', { x: t.x, y: t.y });
    text.textContent = t.text;
    parent.append(text);
  }
}

/** Draw a layout into the topology's section, keeping handles on what events recolour. */
function draw(topo, layout) {
  const pad = 8;
  // Drawn at 1.4 times Graphviz's points at most; narrower screens shrink it (app.css).
  const w = layout.width + 2 * pad;
  const ht = layout.height + 2 * pad;
  const root = s('svg', {
    class: 'graph',
    viewBox: `${-pad} ${-pad} ${w} ${ht}`,
    width: Math.round(w * 1.4),
    height: Math.round(ht * 1.4),
    role: 'group',
    'aria-label': `topology ${layout.topology}`,
  });
  const edgeLayer = s('g');
  const boxLayer = s('g');
  root.append(edgeLayer, boxLayer);
  topo.nodes = new Map();
  topo.sessions = [];
  topo.tunnels = [];
  for (const e of layout.edges) {
    const g = s('g', { class: `edge ${cls(e.kind)}` });
    const title = s('title');
    g.append(title, s('path', { d: e.path }));
    texts(g, e.text);
    edgeLayer.append(g);
    if (e.kind === 'link') title.textContent = `${e.a} on ${e.b}`;
    if (e.kind === 'session') {
      g.dataset.a = e.a;
      g.dataset.b = e.b;
      const edge = { data: e, g, title, label: g.querySelector('text') };
      topo.sessions.push(edge);
      paintSession(edge);
    }
    if (e.kind === 'tunnel') {
      title.textContent = `tunnel ${e.name}`;
      const edge = { data: e, g, title };
      topo.tunnels.push(edge);
      paintTunnel(edge);
    }
  }
  for (const n of layout.networks) {
    const g = s('g', { class: 'network' });
    const title = s('title');
    title.textContent = `network ${n.name} ${n.subnet}`;
    g.append(title, s('rect', { x: n.x - n.w / 2, y: n.y - n.h / 2, width: n.w, height: n.h, rx: 6 }));
    texts(g, n.text);
    boxLayer.append(g);
  }
  for (const n of layout.nodes) {
    const g = s('g', { tabindex: 0, role: 'button' });
    g.dataset.node = n.name;
    const title = s('title');
    const shape =
      n.role === 'host'
        ? s('rect', { x: n.x - n.w / 2, y: n.y - n.h / 2, width: n.w, height: n.h, rx: 2 })
        : s('ellipse', { cx: n.x, cy: n.y, rx: n.w / 2, ry: n.h / 2 });
    g.append(title, shape);
    texts(g, n.text);
    boxLayer.append(g);
    const node = { data: n, g, title, topo };
    topo.nodes.set(n.name, node);
    paintNode(node);
    g.addEventListener('click', () => showNode(node));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        showNode(node);
      }
    });
  }
  topo.host.replaceChildren(root);
  topo.badge.textContent = layout.deployed ? 'deployed' : 'not deployed';
  topo.badge.className = `badge ${layout.deployed ? 'up' : ''}`;
  topo.verifyButton.disabled = !layout.deployed || topo.running;
}

// --- topologies -----------------------------------------------------------------------------------

function section(name, description) {
  const verifyButton = h('button', { type: 'button' }, 'Verify');
  const badge = h('span', { class: 'badge' }, '…');
  const verify = h('div', { class: 'verify', 'aria-live': 'polite' });
  const host = h('div', { class: 'graph-host' }, h('p', { class: 'muted' }, 'drawing…'));
  const el = h(
    'section',
    { class: 'topology' },
    h('header', {}, h('h2', {}, name), badge, verifyButton),
    description ? h('p', { class: 'muted' }, description) : undefined,
    verify,
    host,
  );
  el.dataset.topology = name;
  const topo = { name, el, host, verify, badge, verifyButton, nodes: new Map(), sessions: [], tunnels: [], running: false };
  verifyButton.addEventListener('click', () => runVerify(topo));
  return topo;
}

async function loadLayout(topo) {
  try {
    draw(topo, await api(`/ui/layout/${encodeURIComponent(topo.name)}`));
  } catch (err) {
    if (err instanceof SignedOut) throw err;
    topo.host.replaceChildren(h('p', { class: 'error' }, `Could not draw ${topo.name}: ${err.message}`));
  }
}

async function loadTopologies() {
  const { topologies: list } = await api('/topologies');
  const box = byId('topologies');
  const seen = new Set();
  for (const t of list) {
    seen.add(t.name);
    if (!topologies.has(t.name)) topologies.set(t.name, section(t.name, t.description));
  }
  for (const name of [...topologies.keys()]) if (!seen.has(name)) topologies.delete(name);
  box.replaceChildren(...[...topologies.values()].map((t) => t.el));
  if (topologies.size === 0)
    box.append(h('p', { class: 'muted' }, 'No topologies are saved yet (topology_create, then topology_standup).'));
  await Promise.all([...topologies.values()].map(loadLayout));
}

const pending = new Map();
/** Redraw a topology (or reload the list) a moment after a standup, teardown or drift. */
function reloadSoon(name) {
  const key = name && topologies.has(name) ? name : '';
  clearTimeout(pending.get(key));
  pending.set(
    key,
    setTimeout(() => {
      pending.delete(key);
      const t = topologies.get(key);
      (t ? loadLayout(t) : loadTopologies()).catch(() => {});
    }, 500),
  );
}

// --- verify ---------------------------------------------------------------------------------------

function showVerify(topo, r) {
  const ok = !!r.passed;
  const items = (r.checks ?? []).map((c) =>
    h(
      'li',
      { class: c.ok ? 'good' : 'bad' },
      `${c.ok ? '✓' : '✗'} ${c.check} ${c.target}: ${c.observed}${c.ok ? '' : ` (expected ${c.expected})`}`,
    ),
  );
  const failures = r.checks ? [] : (r.failures ?? []).map((f) => h('li', { class: 'bad' }, String(f)));
  topo.verify.replaceChildren(
    h('p', {}, h('span', { class: `badge ${ok ? 'passed' : 'failed'}` }, ok ? 'verify passed' : 'verify failed'), ' ', r.summary ?? ''),
    items.length || failures.length ? h('ul', {}, ...items, ...failures) : undefined,
  );
}

async function runVerify(topo) {
  topo.running = true;
  topo.verifyButton.disabled = true;
  topo.verify.replaceChildren(h('p', { class: 'muted' }, 'verifying…'));
  try {
    const r = await api(`/topologies/${encodeURIComponent(topo.name)}/verify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    showVerify(topo, r);
    topo.verifiedAt = Date.now();
  } catch (err) {
    if (!(err instanceof SignedOut)) topo.verify.replaceChildren(h('p', { class: 'error' }, `verify: ${err.message}`));
  } finally {
    topo.running = false;
    topo.verifyButton.disabled = false;
  }
}

// --- a node ---------------------------------------------------------------------------------------

function table(head, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows));
}

async function showNode(node) {
  const n = node.data;
  selected = n.name;
  for (const t of topologies.values()) for (const x of t.nodes.values()) paintNode(x);
  const box = byId('node');
  const body = h('div', {}, h('p', { class: 'muted' }, 'reading…'));
  box.replaceChildren(
    h('h3', {}, n.name),
    h(
      'p',
      {},
      `${n.role === 'host' ? 'host' : `${n.kind} router, AS${n.asn}`}; container `,
      h('b', { 'data-field': 'state' }, n.state ?? 'not deployed'),
    ),
    body,
  );
  try {
    if (n.role === 'host') {
      const r = await api(`/hosts/${encodeURIComponent(n.name)}`);
      if (selected !== n.name) return;
      body.replaceChildren(h('pre', {}, JSON.stringify(r, null, 2)));
      return;
    }
    const r = await api(`/daemons/${encodeURIComponent(n.name)}/status`);
    if (selected !== n.name) return;
    const neighbors = (r.neighbors ?? []).map((x) =>
      h(
        'tr',
        {},
        h('td', {}, x.address),
        h('td', {}, String(x.asn)),
        h('td', { class: x.state === 'Established' ? 'up' : 'down' }, x.state),
        h('td', {}, x.uptime_s === undefined ? '' : `${x.uptime_s} s`),
        h('td', {}, `${x.prefixes_received ?? ''}/${x.prefixes_sent ?? ''}`),
      ),
    );
    const routes = (r.routes ?? []).map((x) =>
      h(
        'tr',
        {},
        h('td', {}, `${x.best ? '*' : ''}${x.prefix}`),
        h('td', {}, x.next_hop ?? ''),
        h('td', {}, (x.as_path ?? []).join(' ')),
        h('td', {}, x.direction ?? ''),
      ),
    );
    body.replaceChildren(
      h('p', {}, 'daemon ', h('b', { 'data-field': 'daemon' }, r.daemon), `, container ${r.state}`),
      h('h4', {}, `Neighbors (${neighbors.length})`),
      table(['address', 'AS', 'state', 'up', 'prefixes in/out'], neighbors),
      h('h4', {}, `Routes (${routes.length})`),
      table(['prefix', 'next hop', 'AS path', ''], routes),
    );
  } catch (err) {
    if (!(err instanceof SignedOut) && selected === n.name) body.replaceChildren(h('p', { class: 'error' }, err.message));
  }
}

// --- events ---------------------------------------------------------------------------------------

const clock = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
};
const typeLook = (t) => (/down|died|failed|drift/.test(t) ? 'down' : /up|started|passed|done|cleared/.test(t) ? 'up' : '');

function detailText(e) {
  const d = e.detail ?? {};
  if (e.type === 'session_up' || e.type === 'session_down')
    return `${d.peer_node ?? d.peer ?? '?'}: ${d.from ?? '?'} → ${d.to ?? '?'}${d.reason ? ` (${d.reason})` : ''}`;
  if (e.type.startsWith('verify_')) return String(d.summary ?? '');
  const text = JSON.stringify(d);
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

function addEvent(e, newest) {
  const list = byId('events');
  const li = h(
    'li',
    {},
    h('time', { datetime: e.time }, clock(e.time)),
    ' ',
    h('span', { class: `type ${typeLook(e.type)}` }, e.type),
    ' ',
    [e.topology, e.node].filter(Boolean).join(' / '),
    h('span', { class: 'detail' }, detailText(e)),
  );
  li.dataset.seq = String(e.seq);
  if (newest) list.prepend(li);
  else list.append(li);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

function topologyOf(e) {
  if (e.topology) return topologies.get(e.topology);
  for (const t of topologies.values()) if (e.node && t.nodes.has(e.node)) return t;
  return undefined;
}

/** Recolour what an event is about. */
function apply(e) {
  const topo = topologyOf(e);
  const d = e.detail ?? {};
  switch (e.type) {
    case 'session_up':
    case 'session_down': {
      for (const s of topo?.sessions ?? []) {
        if (s.data.a === e.node && s.data.b_ip === d.peer) s.data.a_state = d.to;
        else if (s.data.b === e.node && s.data.a_ip === d.peer) s.data.b_state = d.to;
        else continue;
        paintSession(s);
      }
      break;
    }
    case 'node_died':
    case 'node_started': {
      const n = topo?.nodes.get(e.node);
      if (n) {
        n.data.state = e.type === 'node_died' ? 'exited' : 'running';
        paintNode(n);
      }
      if (e.type === 'node_died') {
        // Its sessions are down from its side at once (the stream says so too, when it had read them).
        for (const s of topo?.sessions ?? []) {
          if (s.data.a === e.node) s.data.a_state = 'Idle';
          else if (s.data.b === e.node) s.data.b_state = 'Idle';
          else continue;
          paintSession(s);
        }
      }
      break;
    }
    case 'verify_passed':
    case 'verify_failed':
      // Our own verify's answer has every check: its event, coming just after, says less.
      if (topo && !topo.running && Date.now() - (topo.verifiedAt ?? 0) > 5000)
        showVerify(topo, { passed: e.type === 'verify_passed', summary: d.summary, failures: d.failures });
      break;
    case 'standup_done':
    case 'teardown_done':
    case 'drift':
      reloadSoon(e.topology);
      break;
    default:
      break;
  }
}

function onEvent(e) {
  if (typeof e?.seq !== 'number' || e.seq <= lastSeq) return;
  lastSeq = e.seq;
  addEvent(e, true);
  apply(e);
}

function follow() {
  if (source) source.close();
  source = new EventSource(`/events?since=${lastSeq}`);
  const handler = (m) => {
    try {
      onEvent(JSON.parse(m.data));
    } catch {
      // a frame that is not an event
    }
  };
  for (const t of EVENT_TYPES) source.addEventListener(t, handler);
  source.addEventListener('dropped', () => {
    // Too slow, or the server stops: start again after the last event seen.
    source.close();
    setConn('reconnecting', '');
    reconnecting = true;
    setTimeout(follow, 2000);
  });
  source.addEventListener('open', () => {
    setConn('live', 'live');
    if (reconnecting) {
      reconnecting = false;
      loadTopologies().catch(() => {});
    }
  });
  source.addEventListener('error', () => {
    reconnecting = true;
    if (source.readyState !== EventSource.CLOSED) {
      setConn('reconnecting', '');
      return;
    }
    // Refused (signed out, too many readers): ask who we are, then try again.
    setConn('offline', 'offline');
    setTimeout(async () => {
      const who = await fetch('/ui/session')
        .then((r) => r.json())
        .catch(() => undefined);
      if (who?.token_required && !who.signed_in) showLogin(false);
      else follow();
    }, 5000);
  });
}

async function loadEvents() {
  try {
    const r = await api('/events/list?limit=50');
    for (const e of r.events ?? []) addEvent(e, true);
    lastSeq = r.last_seq ?? 0;
  } catch (err) {
    if (err instanceof SignedOut) throw err;
    notice(`Past events are not available: ${err.message}`);
  }
}

// --- sign-in and sign-out ---------------------------------------------------------------------------

// Both forms are sent by fetch: with Referrer-Policy no-referrer a browser sends `Origin: null` on a
// form's own POST, which the server refuses; fetch sends the page's origin.
byId('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  const body = new URLSearchParams(new FormData(form));
  form.reset();
  const res = await fetch('/ui/login', { method: 'POST', body, credentials: 'same-origin' }).catch(() => undefined);
  if (!res?.ok || new URL(res.url).searchParams.get('login') === 'failed') {
    byId('login-failed').hidden = false;
    return;
  }
  location.replace('/ui/');
});

byId('logout').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (source) source.close();
  await fetch('/ui/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
  location.replace('/ui/');
});

// --- start ----------------------------------------------------------------------------------------

async function main() {
  const params = new URLSearchParams(location.search);
  const who = await fetch('/ui/session').then((r) => r.json());
  if (who.token_required && !who.signed_in) return showLogin(params.get('login') === 'failed');
  if (params.has('login')) history.replaceState(null, '', '/ui/');
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('logout').hidden = !who.token_required;
  setConn('connecting', '');
  await loadEvents();
  await loadTopologies();
  follow();
}

main().catch((err) => {
  if (err instanceof SignedOut) return;
  setConn('error', 'offline');
  byId('app').hidden = false;
  notice(`The web view could not start: ${err.message}`);
});
