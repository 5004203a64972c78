// Geometry of an `.act` graph: nodes at their editor positions, edges as curves from the source's
// right side to the target's left side that bow around nodes they would otherwise run behind.
import type { ActGraphDoc, GraphEdge, GraphNode } from '../api/wire';

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 54;

export type PlacedNode = { id: string; type: string; x: number; y: number; isGroup: boolean; children: string[] };
export type PlacedEdge = { id: string; kind: 'exec' | 'data'; path: string; from: string; to: string; fromPort: string; toPort: string };
/** The name of a non-default output port, drawn where its edges leave the node. */
export type PortLabel = { id: string; kind: PlacedEdge['kind']; text: string; x: number; y: number };
export type Layout = {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  labels: PortLabel[];
  /** The node execution starts at (the `entry` of the document, else the leftmost node). */
  entry: PlacedNode | null;
  bounds: { x: number; y: number; width: number; height: number };
};

type Point = { x: number; y: number };
type Rect = { left: number; top: number; right: number; bottom: number };
// A route is a chain of cubic segments; straight runs are cubics with their controls on the line.
type Cubic = [Point, Point, Point, Point];
// `room`: how far the route may run level from its start before it has to turn.
type Route = { segments: Cubic[]; samples: Point[]; outY: number; inY: number; room: number };

// The exec output every plain node has; naming it on each edge would only add clutter.
const DEFAULT_PORT = 'exec';
// How far an edge keeps clear of a node it passes, and how wide a backward edge turns.
const CLEARANCE = 6;
const DETOUR_GAP = 20;
const TURN = 40;
const MAX_PORT_SPACING = 14;
// Below this, port labels would overlap: the edges' tooltips name the ports instead.
const MIN_LABELLED_SPACING = 10;
const LEVEL_SPACING = 8;
const SAMPLES_PER_SEGMENT = 16;
// Width of one character of a port label (10 px monospace, see `.port-label`).
const LABEL_CHAR_WIDTH = 6.1;

function childIds(node: GraphNode, prefix: string): string[] {
  return (node.graph?.nodes ?? []).flatMap((child) => {
    if (typeof child?.id !== 'string') return [];
    const id = `${prefix}${node.id}/${child.id}`;
    return [id, ...childIds(child, `${prefix}${node.id}/`)];
  });
}

// A group's stacked shadow sticks out past its box; its edges start beyond it.
export const GROUP_SHADOW = 6;

function rightOf(node: PlacedNode): number {
  return node.x + NODE_WIDTH + (node.isGroup ? GROUP_SHADOW : 0);
}

function rectOf(node: PlacedNode): Rect {
  const shadow = node.isGroup ? GROUP_SHADOW : 0;
  return { left: node.x, top: node.y, right: node.x + NODE_WIDTH + shadow, bottom: node.y + NODE_HEIGHT + shadow };
}

function cubicAt([p0, p1, p2, p3]: Cubic, t: number): Point {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * p0.x + b * p1.x + c * p2.x + d * p3.x, y: a * p0.y + b * p1.y + c * p2.y + d * p3.y };
}

function line(from: Point, to: Point): Cubic {
  return [from, { x: from.x + (to.x - from.x) / 3, y: from.y + (to.y - from.y) / 3 }, { x: from.x + ((to.x - from.x) * 2) / 3, y: from.y + ((to.y - from.y) * 2) / 3 }, to];
}

function makeRoute(segments: Cubic[], outY: number, inY: number, room = Infinity): Route {
  const samples = [segments[0][0]];
  for (const segment of segments) {
    for (let i = 1; i <= SAMPLES_PER_SEGMENT; i++) samples.push(cubicAt(segment, i / SAMPLES_PER_SEGMENT));
  }
  return { segments, samples, outY, inY, room };
}

// Liang–Barsky: does the segment p→q touch the rectangle?
function segmentHitsRect(p: Point, q: Point, r: Rect): boolean {
  const dx = q.x - p.x;
  const dy = q.y - p.y;
  let t0 = 0;
  let t1 = 1;
  const edges: [number, number][] = [
    [-dx, p.x - r.left],
    [dx, r.right - p.x],
    [-dy, p.y - r.top],
    [dy, r.bottom - p.y],
  ];
  for (const [pk, qk] of edges) {
    if (pk === 0) {
      if (qk < 0) return false;
      continue;
    }
    const t = qk / pk;
    if (pk < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

function routeHits(route: Route, obstacles: Rect[]): Rect[] {
  return obstacles.filter((rect) => {
    const grown = { left: rect.left - CLEARANCE, top: rect.top - CLEARANCE, right: rect.right + CLEARANCE, bottom: rect.bottom + CLEARANCE };
    for (let i = 1; i < route.samples.length; i++) {
      if (segmentHitsRect(route.samples[i - 1], route.samples[i], grown)) return true;
    }
    return false;
  });
}

function direct(a: Point, b: Point): Route {
  const bend = Math.max(40, Math.abs(b.x - a.x) / 2);
  return makeRoute([[a, { x: a.x + bend, y: a.y }, { x: b.x - bend, y: b.y }, b]], b.y, a.y);
}

// Leaves `a` heading right, runs level at `y` past the blocking nodes, and comes down into `b`.
function forwardDetour(a: Point, b: Point, y: number, blockers: Rect[]): Route {
  const left = Math.min(...blockers.map((r) => r.left));
  const right = Math.max(...blockers.map((r) => r.right));
  const xa = Math.min(Math.max(left - DETOUR_GAP, a.x + 16), b.x - 16);
  const xb = Math.max(Math.min(right + DETOUR_GAP, b.x - 16), xa);
  const k1 = Math.max(8, (xa - a.x) / 2);
  const k2 = Math.max(8, (b.x - xb) / 2);
  const segments: Cubic[] = [[a, { x: a.x + k1, y: a.y }, { x: xa - k1, y }, { x: xa, y }]];
  if (xb > xa) segments.push(line({ x: xa, y }, { x: xb, y }));
  segments.push([{ x: xb, y }, { x: xb + k2, y }, { x: b.x - k2, y: b.y }, b]);
  return makeRoute(segments, y, y, (left - a.x) / 2);
}

// A target left of (or level with) its source: turn around past the source, run back at `y`, turn
// into the target's left side.
function backward(a: Point, b: Point, y: number): Route {
  const segments: Cubic[] = [
    [a, { x: a.x + TURN, y: a.y }, { x: a.x + TURN, y }, { x: a.x, y }],
    line({ x: a.x, y }, { x: b.x, y }),
    [{ x: b.x, y }, { x: b.x - TURN, y }, { x: b.x - TURN, y: b.y }, b],
  ];
  return makeRoute(segments, y, y);
}

// The level runs of the detours placed so far, so that two never lie on one line.
type Level = { y: number; from: number; to: number };

function levelOf(route: Route): Level {
  const xs = route.segments.flatMap(([start, , , end]) => [start, end]).filter((p) => p.y === route.outY).map((p) => p.x);
  return { y: route.outY, from: Math.min(...xs), to: Math.max(...xs) };
}

// Moves the level run of a route outwards (up for dir -1, down for +1) until it misses every node
// and every level run already taken.
function settle(build: (y: number, blockers: Rect[]) => Route, start: number, dir: -1 | 1, blockers: Rect[], obstacles: Rect[], taken: Level[]): Route {
  let y = start;
  let route = build(y, blockers);
  for (let round = 0; round < 16; round++) {
    const hits = routeHits(route, obstacles);
    if (hits.length > 0) {
      blockers = [...blockers, ...hits.filter((hit) => !blockers.includes(hit))];
      const edge = dir < 0 ? Math.min(...blockers.map((r) => r.top)) - DETOUR_GAP : Math.max(...blockers.map((r) => r.bottom)) + DETOUR_GAP;
      y = dir < 0 ? Math.min(y, edge) : Math.max(y, edge);
    } else {
      const level = levelOf(route);
      if (!taken.some((other) => Math.abs(other.y - y) < LEVEL_SPACING && other.from < level.to && level.from < other.to)) break;
      y += dir * LEVEL_SPACING;
    }
    route = build(y, blockers);
  }
  return route;
}

// Of the two ways round, the one that strays less from the edge's ends; above on a tie so the
// choice never flips between renders.
function closer(up: Route, down: Route, mid: number): Route {
  return Math.abs(down.outY - mid) < Math.abs(up.outY - mid) ? down : up;
}

function route(from: PlacedNode, to: PlacedNode, a: Point, b: Point, nodes: PlacedNode[], taken: Level[]): Route {
  const obstacles = nodes.filter((node) => node !== from && node !== to).map(rectOf);
  const mid = (a.y + b.y) / 2;
  if (b.x - a.x >= TURN / 2) {
    const straight = direct(a, b);
    const blockers = routeHits(straight, obstacles);
    if (blockers.length === 0) return straight;
    const top = Math.min(...blockers.map((r) => r.top)) - DETOUR_GAP;
    const bottom = Math.max(...blockers.map((r) => r.bottom)) + DETOUR_GAP;
    const build = (y: number, rects: Rect[]) => forwardDetour(a, b, y, rects);
    return closer(settle(build, top, -1, blockers, obstacles, taken), settle(build, bottom, 1, blockers, obstacles, taken), mid);
  }
  const build = (y: number) => backward(a, b, y);
  const source = rectOf(from);
  const target = rectOf(to);
  // Between the two nodes when one sits clearly above the other, else around both.
  if (target.top - source.bottom >= DETOUR_GAP * 2) return settle(build, (source.bottom + target.top) / 2, 1, [], obstacles, taken);
  if (source.top - target.bottom >= DETOUR_GAP * 2) return settle(build, (target.bottom + source.top) / 2, -1, [], obstacles, taken);
  const up = settle(build, Math.min(source.top, target.top) - DETOUR_GAP, -1, [], obstacles, taken);
  const down = settle(build, Math.max(source.bottom, target.bottom) + DETOUR_GAP, 1, [], obstacles, taken);
  return closer(up, down, mid);
}

function pathOf(route: Route): string {
  const [first] = route.segments;
  const n = (v: number) => Math.round(v * 10) / 10;
  return `M ${n(first[0].x)} ${n(first[0].y)} ${route.segments.map(([, c1, c2, p]) => `C ${n(c1.x)} ${n(c1.y)}, ${n(c2.x)} ${n(c2.y)}, ${n(p.x)} ${n(p.y)}`).join(' ')}`;
}

type Pending = { id: string; kind: PlacedEdge['kind']; from: PlacedNode; to: PlacedNode; fromPort: string; toPort: string; outY: number; inY: number; room: number };

function portSpacing(count: number): number {
  return count > 1 ? Math.min(MAX_PORT_SPACING, (NODE_HEIGHT - 12) / (count - 1)) : MAX_PORT_SPACING;
}

/**
 * Where each port of one side of a node sits: one slot per distinct port, ordered by where its
 * edges head so that edges leaving one node neither cross at the start nor share a line.
 */
function portSlots(node: PlacedNode, ports: { port: string; heading: number }[]): Map<string, number> {
  const headings = new Map<string, number[]>();
  for (const { port, heading } of ports) headings.set(port, [...(headings.get(port) ?? []), heading]);
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const order = [...headings.entries()].map(([port, values]) => ({ port, heading: mean(values) })).sort((p, q) => p.heading - q.heading || (p.port < q.port ? -1 : p.port > q.port ? 1 : 0));
  const spacing = portSpacing(order.length);
  const centre = node.y + NODE_HEIGHT / 2;
  return new Map(order.map(({ port }, i) => [port, centre + (i - (order.length - 1) / 2) * spacing]));
}

function entryOf(graph: ActGraphDoc | null, nodes: PlacedNode[]): PlacedNode | null {
  // `entry` is not in the API's document type, but the API passes the parsed YAML on whole.
  const named = graph && 'entry' in graph && typeof graph.entry === 'string' ? nodes.find((node) => node.id === graph.entry) : undefined;
  if (named) return named;
  return nodes.reduce<PlacedNode | null>((best, node) => (!best || node.x < best.x || (node.x === best.x && node.y < best.y) ? node : best), null);
}

export function layoutGraph(graph: ActGraphDoc | null): Layout {
  const nodes: PlacedNode[] = [];
  const byId = new Map<string, PlacedNode>();
  (graph?.nodes ?? []).forEach((node, index) => {
    if (typeof node?.id !== 'string') return;
    // Nodes without a position go on a grid so a hand-written graph still shows.
    const x = typeof node.position?.x === 'number' ? node.position.x : (index % 4) * 260;
    const y = typeof node.position?.y === 'number' ? node.position.y : Math.floor(index / 4) * 120;
    const placed = { id: node.id, type: node.type ?? '', x, y, isGroup: Boolean(node.graph), children: childIds(node, '') };
    nodes.push(placed);
    byId.set(node.id, placed);
  });

  // First pass from centre to centre: only to learn which way each edge heads, to order the ports.
  const pending: Pending[] = [];
  const add = (list: GraphEdge[] | undefined, kind: PlacedEdge['kind']) => {
    (list ?? []).forEach((edge, index) => {
      const from = byId.get(edge?.src?.node);
      const to = byId.get(edge?.dst?.node);
      if (!from || !to) return;
      const fromPort = typeof edge.src.port === 'string' ? edge.src.port : '';
      const toPort = typeof edge.dst.port === 'string' ? edge.dst.port : '';
      const a = { x: rightOf(from), y: from.y + NODE_HEIGHT / 2 };
      const b = { x: to.x, y: to.y + NODE_HEIGHT / 2 };
      const rough = route(from, to, a, b, nodes, []);
      pending.push({ id: `${kind}-${index}`, kind, from, to, fromPort, toPort, outY: rough.outY, inY: rough.inY, room: rough.room });
    });
  };
  add(graph?.executions, 'exec');
  add(graph?.connections, 'data');

  // Exec and data ports share a side; keying by kind too keeps a data port apart from a same-named exec one.
  const outSlots = new Map(nodes.map((node) => [node.id, portSlots(node, pending.filter((e) => e.from === node).map((e) => ({ port: `${e.kind}:${e.fromPort}`, heading: e.outY })))]));
  const inSlots = new Map(nodes.map((node) => [node.id, portSlots(node, pending.filter((e) => e.to === node).map((e) => ({ port: `${e.kind}:${e.toPort}`, heading: e.inY })))]));

  const edges: PlacedEdge[] = [];
  const taken: Level[] = [];
  const labels = new Map<string, PortLabel>();
  const xs: number[] = [];
  const ys: number[] = [];
  for (const node of nodes) {
    const rect = rectOf(node);
    xs.push(rect.left, rect.right);
    ys.push(rect.top, rect.bottom);
  }
  for (const edge of pending) {
    const a = { x: rightOf(edge.from), y: outSlots.get(edge.from.id)?.get(`${edge.kind}:${edge.fromPort}`) ?? edge.from.y + NODE_HEIGHT / 2 };
    const b = { x: edge.to.x, y: inSlots.get(edge.to.id)?.get(`${edge.kind}:${edge.toPort}`) ?? edge.to.y + NODE_HEIGHT / 2 };
    const crowded = portSpacing(outSlots.get(edge.from.id)?.size ?? 1) < MIN_LABELLED_SPACING;
    const labelled = edge.fromPort !== '' && edge.fromPort !== DEFAULT_PORT && !crowded;
    // A labelled forward edge runs level under its label before it turns, so it does not cut through
    // the text; shorter when the target or a node to bow around is close, so the edge keeps its shape.
    // (A backward edge turns at once: a longer run crowds the edges that leave beside it.)
    const labelWidth = edge.fromPort.length * LABEL_CHAR_WIDTH + 8;
    const stub = labelled ? Math.min(labelWidth, Math.max(0, (b.x - a.x - TURN) * 0.6), edge.room) : 0;
    const start = { x: a.x + stub, y: a.y };
    const routed = route(edge.from, edge.to, start, b, nodes, taken);
    if (routed.segments.length > 1) taken.push(levelOf(routed));
    const placed = stub > 0 ? makeRoute([line(a, start), ...routed.segments], routed.outY, routed.inY) : routed;
    edges.push({ id: edge.id, kind: edge.kind, from: edge.from.id, to: edge.to.id, fromPort: edge.fromPort, toPort: edge.toPort, path: pathOf(placed) });
    for (const point of placed.samples) {
      xs.push(point.x);
      ys.push(point.y);
    }
    const labelId = `${edge.from.id}:${edge.kind}:${edge.fromPort}`;
    if (labelled && !labels.has(labelId)) {
      labels.set(labelId, { id: labelId, kind: edge.kind, text: edge.fromPort, x: a.x + 5, y: a.y - 3 });
    }
  }

  const minX = xs.length ? Math.min(...xs) : 0;
  const minY = ys.length ? Math.min(...ys) : 0;
  const maxX = xs.length ? Math.max(...xs) : NODE_WIDTH;
  const maxY = ys.length ? Math.max(...ys) : NODE_HEIGHT;
  return { nodes, edges, labels: [...labels.values()], entry: entryOf(graph, nodes), bounds: { x: minX, y: minY, width: maxX - minX, height: maxY - minY } };
}
