// Where the map puts things: namespaces as boxes in columns, callers left of callees, and at most
// MAX_EDGES edges.
import { hash } from './map-format.js';

/**
 * Ranks for a left-to-right flow: each node one column right of its furthest caller. Back edges
 * (cycles) found by a depth-first walk are ignored, so the ranks always exist.
 */
function ranks(ids, edges) {
  const out = new Map(ids.map((id) => [id, []]));
  for (const [s, t] of edges) if (s !== t && out.has(s) && out.has(t)) out.get(s).push(t);
  const state = new Map();
  const order = [];
  const keep = new Map(ids.map((id) => [id, []]));
  const visit = (v) => {
    state.set(v, 1);
    for (const w of out.get(v)) {
      if (state.get(w) === 1) continue;
      keep.get(v).push(w);
      if (!state.has(w)) visit(w);
    }
    state.set(v, 2);
    order.push(v);
  };
  for (const id of [...ids].sort()) if (!state.has(id)) visit(id);
  const rank = new Map(ids.map((id) => [id, 0]));
  for (const v of order.reverse()) for (const w of keep.get(v)) rank.set(w, Math.max(rank.get(w), rank.get(v) + 1));
  return rank;
}

/** Edges that skip columns arc above or below the row, so they do not run through the apps between. */
export function bendLongEdges(cy) {
  cy.batch(() => cy.edges().forEach((e) => {
    const a = e.source().position();
    const b = e.target().position();
    const dx = Math.abs(b.x - a.x);
    const side = hash(e.id()) % 2 ? 1 : -1;
    e.data('curve', dx > 1.6 * COL ? side * Math.min(260, 30 + dx * 0.12) : 0);
  }));
}

const COL = 170;
const ROW = 95;
const BOX_GAP_X = 110;
const BOX_GAP_Y = 150;

/** Namespaces as boxes in columns (callers left of callees), apps in columns inside each box. */
export function layeredPositions(graph) {
  const byNs = new Map();
  for (const n of graph.nodes) {
    if (!byNs.has(n.subtitle)) byNs.set(n.subtitle, []);
    byNs.get(n.subtitle).push(n);
  }
  const nsOf = new Map(graph.nodes.map((n) => [n.id, n.subtitle]));
  const nsRank = ranks([...byNs.keys()], graph.edges.map((e) => [nsOf.get(e.source), nsOf.get(e.target)]));
  const inside = graph.edges.filter((e) => nsOf.get(e.source) === nsOf.get(e.target));
  const appRank = ranks(graph.nodes.map((n) => n.id), inside.map((e) => [e.source, e.target]));

  // Inside each box: apps in columns by rank, sorted by name; the box's size follows.
  const boxes = new Map();
  for (const [ns, apps] of byNs) {
    const cols = new Map();
    for (const a of apps) {
      const r = appRank.get(a.id);
      if (!cols.has(r)) cols.set(r, []);
      cols.get(r).push(a);
    }
    const colKeys = [...cols.keys()].sort((a, b) => a - b);
    const rel = new Map();
    let rows = 0;
    colKeys.forEach((k, ci) => {
      const list = cols.get(k).sort((a, b) => a.title.localeCompare(b.title));
      rows = Math.max(rows, list.length);
      list.forEach((a, ri) => rel.set(a.id, { x: ci * COL, y: ri * ROW, col: ci, n: list.length }));
    });
    // Centre short columns against the tallest one.
    for (const p of rel.values()) p.y += ((rows - p.n) * ROW) / 2;
    boxes.set(ns, { ns, rel, w: (colKeys.length - 1) * COL, h: (rows - 1) * ROW, rank: nsRank.get(ns) });
  }

  // Boxes in columns by namespace rank; each column ordered by where its callers sit.
  const columns = new Map();
  for (const b of boxes.values()) {
    if (!columns.has(b.rank)) columns.set(b.rank, []);
    columns.get(b.rank).push(b);
  }
  const positions = new Map();
  const centreY = new Map();
  let x = 0;
  for (const r of [...columns.keys()].sort((a, b) => a - b)) {
    const col = columns.get(r);
    const callers = (b) => graph.edges
      .filter((e) => nsOf.get(e.target) === b.ns && centreY.has(nsOf.get(e.source)))
      .map((e) => centreY.get(nsOf.get(e.source)));
    const weight = (b) => { const ys = callers(b); return ys.length ? ys.reduce((a, c) => a + c, 0) / ys.length : 0; };
    col.sort((a, b) => weight(a) - weight(b) || a.ns.localeCompare(b.ns));
    const total = col.reduce((a, b) => a + b.h, 0) + BOX_GAP_Y * (col.length - 1);
    let y = -total / 2;
    let width = 0;
    for (const b of col) {
      for (const [id, p] of b.rel) positions.set(id, { x: x + p.x, y: y + p.y });
      centreY.set(b.ns, y + b.h / 2);
      y += b.h + BOX_GAP_Y;
      width = Math.max(width, b.w);
    }
    x += width + BOX_GAP_X + 60;
  }
  return positions;
}

/** More edges than this make a hairball no one reads (and a slow page): keep the busiest. */
export const MAX_EDGES = 600;

export function busiest(graph) {
  if (graph.edges.length <= MAX_EDGES) return { graph, dropped: 0 };
  const edges = [...graph.edges].sort((a, b) => b.mainstat - a.mainstat).slice(0, MAX_EDGES);
  const keep = new Set(edges.flatMap((e) => [e.source, e.target]));
  return { graph: { nodes: graph.nodes.filter((n) => keep.has(n.id)), edges }, dropped: graph.edges.length - MAX_EDGES };
}

