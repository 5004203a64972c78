// Geometry of an `.act` graph: nodes at their editor positions, edges between their sides.
import type { ActGraphDoc, GraphEdge, GraphNode } from '../api/types';

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 54;

export type PlacedNode = { id: string; type: string; x: number; y: number; isGroup: boolean; children: string[] };
export type PlacedEdge = { id: string; kind: 'exec' | 'data'; path: string; from: string; to: string };
export type Layout = { nodes: PlacedNode[]; edges: PlacedEdge[]; bounds: { x: number; y: number; width: number; height: number } };

function childIds(node: GraphNode, prefix: string): string[] {
  return (node.graph?.nodes ?? []).flatMap((child) => {
    if (typeof child?.id !== 'string') return [];
    const id = `${prefix}${node.id}/${child.id}`;
    return [id, ...childIds(child, `${prefix}${node.id}/`)];
  });
}

function edgePath(from: PlacedNode, to: PlacedNode, lane: number): string {
  const x1 = from.x + NODE_WIDTH;
  const y1 = from.y + NODE_HEIGHT / 2 + lane;
  const x2 = to.x;
  const y2 = to.y + NODE_HEIGHT / 2 + lane;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  return `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
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
  const edges: PlacedEdge[] = [];
  const add = (list: GraphEdge[] | undefined, kind: PlacedEdge['kind']) => {
    (list ?? []).forEach((edge, index) => {
      const from = byId.get(edge?.src?.node);
      const to = byId.get(edge?.dst?.node);
      if (!from || !to) return;
      edges.push({ id: `${kind}-${index}`, kind, from: from.id, to: to.id, path: edgePath(from, to, kind === 'exec' ? -8 : 8) });
    });
  };
  add(graph?.executions, 'exec');
  add(graph?.connections, 'data');
  const xs = nodes.map((n) => n.x);
  const ys = nodes.map((n) => n.y);
  const minX = nodes.length ? Math.min(...xs) : 0;
  const minY = nodes.length ? Math.min(...ys) : 0;
  const maxX = nodes.length ? Math.max(...xs) + NODE_WIDTH : NODE_WIDTH;
  const maxY = nodes.length ? Math.max(...ys) + NODE_HEIGHT : NODE_HEIGHT;
  return { nodes, edges, bounds: { x: minX, y: minY, width: maxX - minX, height: maxY - minY } };
}
