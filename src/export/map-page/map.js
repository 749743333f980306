// The service map: polls /api/graph/data (the same answer Grafana gets) and draws it with
// Cytoscape.js. Apps are nodes inside their namespace; edges run client → server.
/* global cytoscape */
import { bps, gib, money, nsColor, perS } from './map-format.js';
import { bendLongEdges, busiest, layeredPositions, MAX_EDGES } from './map-layout.js';

const REFRESH_MS = 5000;
const LIVE_WINDOWS = [[60, '1 minute'], [300, '5 minutes'], [900, '15 minutes']];
const HISTORY_WINDOWS = [...LIVE_WINDOWS, [3600, '1 hour'], [21600, '6 hours'], [86400, '24 hours']];
const AGO = [[0, 'now'], [900, '15 min ago'], [3600, '1 hour ago'], [21600, '6 hours ago'], [86400, '1 day ago'], [604800, '7 days ago']];

const $ = (id) => document.getElementById(id);
const state = {
  source: 'live', windowS: 300, agoS: 0, hidden: new Set(), search: '', graph: { nodes: [], edges: [] },
  selected: null, dropped: 0, denied: new Set(), view: 'traffic',
};
// Zone classes that cost money get a colour (the same as Grafana's edge colour).
const CLASS_COLOURS = { 'cross-zone': '#e8a33d', 'cross-region': '#9b59d0', internet: '#d9488f' };

/** The header total ("cross-zone: X GiB/h, $Y/h") and the top cross-zone senders per day. */
function renderZones(z) {
  const total = $('zone-total');
  const top = $('top-cost');
  total.hidden = !z;
  top.hidden = !z || z.topCrossZone.length === 0;
  if (!z) return;
  const cost = z.costPerHour['cross-zone'];
  total.textContent = `cross-zone: ${gib(z.gibPerHour['cross-zone'])}/h` + (cost !== undefined ? `, ${money(cost, z.currency, '/h')}` : '');
  const name = (id) => { const n = state.graph.nodes.find((x) => x.id === id); return n ? `${n.title} (${n.subtitle})` : id; };
  $('top-cost-list').replaceChildren(...z.topCrossZone.map((t) => {
    const li = document.createElement('li');
    const cost = z.currency ? money(t.costPerHour * 24, z.currency, '/day') + ' · ' : '';
    li.textContent = `${name(t.id)}: ${cost}${gib(t.gibPerHour * 24)}/day`;
    return li;
  }));
}

const cy = cytoscape({
  container: $('cy'),
  elements: [],
  minZoom: 0.3,
  maxZoom: 1.6,
  wheelSensitivity: 0.3,
  style: [
    { selector: 'node', style: {
      'background-color': 'data(color)', label: 'data(label)', color: '#1f2933',
      'text-valign': 'bottom', 'text-margin-y': 5, 'text-wrap': 'ellipsis', 'text-max-width': 140, 'font-size': 13,
      width: 'data(size)', height: 'data(size)', 'border-width': 2, 'border-color': '#ffffff',
      'text-background-color': '#ffffff', 'text-background-opacity': 0.75, 'text-background-padding': 1,
    } },
    { selector: 'node.namespace', style: {
      'background-color': 'data(color)', 'background-opacity': 0.07, 'border-color': 'data(color)', 'border-width': 1.5,
      'border-opacity': 0.6, shape: 'round-rectangle', label: 'data(label)', 'text-valign': 'top', 'text-halign': 'center',
      'font-size': 14, 'font-weight': 'bold', color: 'data(color)', 'text-margin-y': -4, padding: 22,
      'text-background-opacity': 0,
    } },
    { selector: 'node.external', style: { shape: 'diamond' } },
    { selector: 'node.unknown', style: { shape: 'ellipse', 'border-style': 'dashed', 'border-color': '#8896a8' } },
    { selector: 'node.k8snode', style: { shape: 'round-rectangle' } },
    { selector: 'node.service', style: { shape: 'round-hexagon' } },
    { selector: 'edge', style: {
      width: 'data(width)', 'line-color': '#9aa8ba', 'target-arrow-color': '#9aa8ba', 'target-arrow-shape': 'triangle',
      'arrow-scale': 0.9, 'curve-style': 'unbundled-bezier', 'control-point-distances': 'data(curve)', 'control-point-weights': 0.5,
      'min-zoomed-font-size': 7, label: 'data(label)', 'font-size': 10, color: '#4a5768',
      'text-rotation': 'autorotate', 'text-background-color': '#f6f7f9', 'text-background-opacity': 0.85,
      'text-background-padding': 1, opacity: 0.9,
    } },
    { selector: 'edge.unknown-role', style: { 'line-style': 'dashed', 'line-color': '#b4bfcc', 'target-arrow-color': '#b4bfcc' } },
    ...Object.entries(CLASS_COLOURS).map(([c, colour]) => ({
      selector: `edge.zc-${c}`, style: { 'line-color': colour, 'target-arrow-color': colour },
    })),
    // After the zone colours: a denied conversation shows red whatever its class.
    { selector: 'edge.denied', style: { 'line-color': '#d64545', 'target-arrow-color': '#d64545', color: '#b42318' } },
    { selector: '.faded', style: { opacity: 0.12, 'text-opacity': 0.15 } },
    { selector: 'node.match', style: { 'border-color': '#f0b429', 'border-width': 4 } },
    { selector: ':selected', style: {
      'border-color': '#1f2933', 'border-width': 3, 'line-color': '#3d7dd8', 'target-arrow-color': '#3d7dd8',
    } },
    { selector: '.hidden', style: { display: 'none' } },
  ],
});

// Exposed for the end-to-end test and for anyone poking at the map from the console.
window.netflowMap = { cy, state, updates: 0, error: null };

function elementsOf(graph) {
  const maxNode = Math.max(1, ...graph.nodes.map((n) => n.mainstat));
  const maxEdge = Math.max(1, ...graph.edges.map((e) => e.mainstat));
  const maxCost = Math.max(1e-9, ...graph.edges.map((e) => e.detail__cost_per_hour || 0));
  const cur = (graph.zones && graph.zones.currency) || '';
  const els = [];
  const namespaces = new Set(graph.nodes.map((n) => n.subtitle));
  for (const ns of namespaces) {
    els.push({ group: 'nodes', data: { id: `ns:${ns}`, label: ns, color: nsColor(ns), namespace: ns }, classes: 'namespace' });
  }
  for (const n of graph.nodes) {
    const kind = n.detail__kind || '';
    const classes = ['app'];
    if (n.subtitle === 'external') classes.push('external');
    else if (n.subtitle === 'unknown') classes.push('unknown');
    else if (n.subtitle === 'node' || kind === 'node') classes.push('k8snode');
    else if (kind === 'service') classes.push('service');
    els.push({
      group: 'nodes',
      data: {
        id: n.id, parent: `ns:${n.subtitle}`, label: n.title, namespace: n.subtitle, color: nsColor(n.subtitle),
        size: 26 + 26 * Math.sqrt(n.mainstat / maxNode), raw: n,
      },
      classes: classes.join(' '),
    });
  }
  for (const e of graph.edges) {
    els.push({
      group: 'edges',
      data: {
        id: e.id, source: e.source, target: e.target, curve: 0, raw: e,
        // The cost view sizes and labels edges by money per hour instead of bytes.
        label: state.view === 'cost' ? money(e.detail__cost_per_hour || 0, cur, '/h') : bps(e.mainstat),
        width: state.view === 'cost'
          ? 0.8 + 8 * Math.sqrt((e.detail__cost_per_hour || 0) / maxCost)
          : 1.2 + 6 * Math.log1p(e.mainstat) / Math.log1p(maxEdge),
      },
      classes: (e.detail__direction === 'client-server' ? 'client-server' : 'unknown-role') +
        (CLASS_COLOURS[e.detail__class] ? ` zc-${e.detail__class}` : '') +
        (state.denied.has(`${e.source}|${e.target}`) ? ' denied' : ''),
    });
  }
  return els;
}

function render(full) {
  const { graph, dropped } = busiest(full);
  state.dropped = dropped;
  state.graph = graph;
  const els = elementsOf(graph);
  const want = new Set(els.map((e) => e.data.id));
  let changed = false;
  cy.batch(() => {
    cy.elements().forEach((el) => { if (!want.has(el.id())) { el.remove(); changed = true; } });
    // Parents first, so children find them.
    for (const el of els) {
      const have = cy.getElementById(el.data.id);
      if (have.nonempty()) {
        have.data(el.data);
        have.classes(el.classes);
      } else {
        cy.add(el);
        changed = true;
      }
    }
  });
  if (changed) {
    const positions = layeredPositions(graph);
    cy.layout({ name: 'preset', positions: (n) => positions.get(n.id()) || { x: 0, y: 0 }, fit: true, padding: 40, animate: false }).run();
  }
  bendLongEdges(cy);
  renderZones(full.zones);
  renderChips();
  applyFilters();
  $('empty').hidden = graph.nodes.length > 0;
  if (state.selected) showDetails(cy.getElementById(state.selected));
}

let chipsFor = '';
function renderChips() {
  const nav = $('namespaces');
  const namespaces = [...new Set(state.graph.nodes.map((n) => n.subtitle))].sort();
  // Rebuilt only when the namespaces change, so a refresh never swallows a click.
  if (namespaces.join('\n') === chipsFor) {
    for (const chip of nav.children) {
      const off = state.hidden.has(chip.dataset.namespace);
      chip.classList.toggle('off', off);
      chip.title = off ? 'Show this namespace' : 'Hide this namespace';
    }
    return;
  }
  chipsFor = namespaces.join('\n');
  nav.replaceChildren(...namespaces.map((ns) => {
    const chip = document.createElement('span');
    chip.className = 'chip' + (state.hidden.has(ns) ? ' off' : '');
    chip.dataset.namespace = ns;
    chip.title = state.hidden.has(ns) ? 'Show this namespace' : 'Hide this namespace';
    const dot = document.createElement('i');
    dot.style.background = nsColor(ns);
    chip.append(dot, document.createTextNode(ns));
    chip.addEventListener('click', () => {
      if (state.hidden.has(ns)) state.hidden.delete(ns); else state.hidden.add(ns);
      renderChips();
      applyFilters();
    });
    return chip;
  }));
}

function applyFilters() {
  const q = state.search.trim().toLowerCase();
  cy.batch(() => {
    cy.nodes().forEach((n) => n.toggleClass('hidden', state.hidden.has(n.data('namespace'))));
    cy.edges().forEach((e) => e.toggleClass('hidden', e.source().hasClass('hidden') || e.target().hasClass('hidden')));
    cy.elements().removeClass('faded match');
    if (q) {
      const hits = cy.nodes('.app').filter((n) =>
        n.data('label').toLowerCase().includes(q) || n.data('namespace').toLowerCase().includes(q));
      const keep = hits.union(hits.connectedEdges()).union(hits.connectedEdges().connectedNodes()).union(hits.ancestors());
      cy.elements().difference(keep).difference(keep.ancestors()).addClass('faded');
      hits.addClass('match');
    }
  });
}

function row(label, value) {
  const tr = document.createElement('tr');
  const a = document.createElement('td');
  const b = document.createElement('td');
  a.textContent = label;
  b.textContent = value;
  tr.append(a, b);
  return tr;
}
function section(title, rows) {
  const frag = document.createDocumentFragment();
  const h = document.createElement('h3');
  h.textContent = title;
  const t = document.createElement('table');
  t.append(...rows);
  frag.append(h, t);
  return frag;
}

function showDetails(el) {
  const body = $('details-body');
  if (!el || el.empty() || el.hasClass('namespace')) { hideDetails(); return; }
  state.selected = el.id();
  const raw = el.data('raw');
  const h = document.createElement('h2');
  const sub = document.createElement('div');
  sub.className = 'kind';
  const parts = [h, sub];
  if (el.isNode()) {
    h.textContent = raw.title;
    sub.textContent = `${raw.detail__kind} in ${raw.subtitle}`;
    parts.push(section('Traffic', [
      row('Sent', bps(raw.detail__sent_bytes_per_s)),
      row('Received', bps(raw.detail__received_bytes_per_s)),
      row('Flows', perS(raw.secondarystat)),
    ]));
    const peer = (e, end) => row(`${end.data('label')} (${end.data('namespace')})`, bps(e.data('raw').mainstat));
    const clients = el.incomers('edge').map((e) => peer(e, e.source()));
    const servers = el.outgoers('edge').map((e) => peer(e, e.target()));
    if (clients.length) parts.push(section('Called by', clients));
    if (servers.length) parts.push(section('Calls', servers));
  } else {
    const s = el.source();
    const t = el.target();
    h.textContent = `${s.data('label')} → ${t.data('label')}`;
    sub.textContent = raw.detail__direction === 'client-server'
      ? `client ${s.data('namespace')} → server ${t.data('namespace')}`
      : `source ${s.data('namespace')} → destination ${t.data('namespace')} (role unknown)`;
    parts.push(section('Rates', [
      row('Total', bps(raw.mainstat)),
      row(raw.detail__direction === 'client-server' ? 'Requests' : 'Forward', bps(raw.detail__request_bytes_per_s)),
      row('Responses', bps(raw.detail__response_bytes_per_s)),
      row('Packets', perS(raw.detail__packets_per_s)),
      row('Flows', perS(raw.detail__flows_per_s)),
      row('Zone class', raw.detail__class || 'unknown'),
      ...(raw.detail__cost_per_hour ? [row('Cost', money(raw.detail__cost_per_hour, (state.graph.zones || {}).currency || '', '/h'))] : []),
    ]));
  }
  body.replaceChildren(...parts);
  $('details').hidden = false;
}
function hideDetails() {
  state.selected = null;
  $('details').hidden = true;
}

cy.on('tap', 'node.app, edge', (ev) => showDetails(ev.target));
cy.on('tap', (ev) => { if (ev.target === cy) hideDetails(); });
$('close').addEventListener('click', hideDetails);
$('fit').addEventListener('click', () => cy.fit(cy.elements(':visible'), 40));
$('search').addEventListener('input', (ev) => { state.search = ev.target.value; applyFilters(); });

function setStatus(text, error) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', !!error);
}

/** Conversations the last `policy check` would deny, drawn as red edges (absent without the policy API). */
async function loadDenied() {
  try {
    const r = await fetch('api/policies/denied', { cache: 'no-store' });
    if (!r.ok) return;
    const body = await r.json();
    const end = (e) => `${e.namespace}/${e.name}`;
    state.denied = new Set((body.denied || []).map((d) => `${end(d.clientEnd)}|${end(d.serverEnd)}`));
  } catch {
    // The map stands without it.
  }
}

let inFlight = false;
async function refresh() {
  if (inFlight) return;
  inFlight = true;
  try {
    const to = Date.now() - state.agoS * 1000;
    const from = to - state.windowS * 1000;
    const r = await fetch(`api/graph/data?from=${from}&to=${to}`, { cache: 'no-store' });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    await loadDenied();
    render(body);
    window.netflowMap.updates++;
    window.netflowMap.error = null;
    const src = state.source === 'prometheus' ? 'Prometheus' : 'live';
    const cut = state.dropped ? ` · busiest ${MAX_EDGES} of ${MAX_EDGES + state.dropped} edges` : '';
    setStatus(`${src} · updated ${new Date().toLocaleTimeString()}${cut}`);
  } catch (err) {
    window.netflowMap.error = String(err && err.message || err);
    setStatus(`update failed: ${window.netflowMap.error}`, true);
  } finally {
    inFlight = false;
  }
}

function fillSelect(sel, options, value) {
  sel.replaceChildren(...options.map(([v, label]) => {
    const o = document.createElement('option');
    o.value = String(v);
    o.textContent = label;
    o.selected = v === value;
    return o;
  }));
}

async function init() {
  try {
    const r = await fetch('api/health', { cache: 'no-store' });
    const h = await r.json();
    state.source = h.source || 'live';
  } catch {
    state.source = 'live';
  }
  const history = state.source === 'prometheus';
  fillSelect($('window'), history ? HISTORY_WINDOWS : LIVE_WINDOWS, state.windowS);
  $('ago-ctl').hidden = !history;
  if (history) fillSelect($('ago'), AGO, 0);
  $('window').addEventListener('change', (ev) => { state.windowS = Number(ev.target.value); refresh(); });
  $('view').addEventListener('change', (ev) => { state.view = ev.target.value; refresh(); });
  $('ago').addEventListener('change', (ev) => { state.agoS = Number(ev.target.value); refresh(); });
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

init();
