// SVG view of an `.act` job: nodes at their positions, exec (solid) and data (dashed) edges, pan
// (drag) and zoom (wheel), live node states; clicking a node selects its log section.
import { useEffect, useMemo, useRef, useState, type PointerEvent, type WheelEvent } from 'react';
import type { JobGraph, NodeState } from '../api/types';
import { layoutGraph, NODE_HEIGHT, NODE_WIDTH, type PlacedNode } from './graph-layout';

type View = { x: number; y: number; scale: number };

type GraphViewerProps = { graph: JobGraph; selected: string | null; onSelect: (node: string | null) => void };

const MARK: Record<NodeState, string> = { running: '●', succeeded: '✓', failed: '✗', skipped: '–' };

function nodeState(node: PlacedNode, graph: JobGraph): NodeState | 'active' | 'idle' {
  if (graph.activeNodes.includes(node.id) || graph.activeNodes.some((id) => id.startsWith(`${node.id}/`))) return 'active';
  return graph.nodeStates[node.id] ?? 'idle';
}

function tooltip(node: PlacedNode, graph: JobGraph, state: string): string {
  const lines = [`${node.id} (${node.type || 'node'}): ${state}`];
  for (const child of node.children) {
    const childState = graph.activeNodes.includes(child) ? 'running' : (graph.nodeStates[child] ?? 'not run');
    lines.push(`  ${child}: ${childState}`);
  }
  return lines.join('\n');
}

function GraphNodeBox({ node, graph, selected, onSelect }: { node: PlacedNode; graph: JobGraph; selected: boolean; onSelect: () => void }) {
  const state = nodeState(node, graph);
  return (
    <g
      className={`graph-node node-${state}${node.isGroup ? ' node-group' : ''}${selected ? ' node-selected' : ''}`}
      transform={`translate(${node.x}, ${node.y})`}
      data-node={node.id}
      data-state={state}
      onClick={(event) => {
        event.stopPropagation();
        onSelect();
      }}
    >
      <title>{tooltip(node, graph, state === 'active' ? 'executing' : state)}</title>
      {node.isGroup && <rect className="node-group-shadow" x={6} y={6} width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />}
      <rect className="node-box" width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
      <text className="node-id" x={12} y={22}>
        {node.id.length > 20 ? `${node.id.slice(0, 19)}…` : node.id}
      </text>
      <text className="node-type" x={12} y={40}>
        {node.isGroup ? `group · ${node.children.length} nodes` : node.type}
      </text>
      <text className="node-mark" x={NODE_WIDTH - 12} y={22} textAnchor="end">
        {state === 'active' ? '●' : state === 'idle' ? '' : MARK[state]}
      </text>
    </g>
  );
}

export function GraphViewer({ graph, selected, onSelect }: GraphViewerProps) {
  const layout = useMemo(() => layoutGraph(graph.graph), [graph.graph]);
  const svg = useRef<SVGSVGElement>(null);
  const [view, setView] = useState<View>({ x: 0, y: 0, scale: 1 });
  const drag = useRef<{ x: number; y: number; view: View; moved: boolean } | null>(null);

  // Fit the graph once it is known.
  useEffect(() => {
    const element = svg.current;
    if (!element) return;
    const { width, height } = element.getBoundingClientRect();
    const pad = 40;
    const b = layout.bounds;
    const scale = Math.min(1.2, Math.max(0.2, Math.min((width - pad * 2) / b.width, (height - pad * 2) / b.height)));
    setView({ scale, x: (width - b.width * scale) / 2 - b.x * scale, y: (height - b.height * scale) / 2 - b.y * scale });
  }, [layout]);

  const onWheel = (event: WheelEvent<SVGSVGElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    setView((current) => {
      const scale = Math.min(4, Math.max(0.1, current.scale * Math.exp(-event.deltaY * 0.0015)));
      const k = scale / current.scale;
      return { scale, x: px - (px - current.x) * k, y: py - (py - current.y) * k };
    });
  };

  const onPointerDown = (event: PointerEvent<SVGSVGElement>) => {
    if (event.button !== 0) return;
    drag.current = { x: event.clientX, y: event.clientY, view, moved: false };
  };
  const onPointerMove = (event: PointerEvent<SVGSVGElement>) => {
    const start = drag.current;
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!start.moved && Math.hypot(dx, dy) < 3) return;
    if (!start.moved) event.currentTarget.setPointerCapture(event.pointerId);
    start.moved = true;
    setView({ ...start.view, x: start.view.x + dx, y: start.view.y + dy });
  };
  const suppressClick = useRef(false);
  const onPointerUp = () => {
    suppressClick.current = Boolean(drag.current?.moved);
    drag.current = null;
  };

  const byId = new Map(layout.nodes.map((node) => [node.id, node]));
  return (
    <div className="graph-viewer" data-testid="graph-viewer">
      <svg
        ref={svg}
        className={drag.current?.moved ? 'graph-svg dragging' : 'graph-svg'}
        onWheel={onWheel}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onClick={() => {
          if (!suppressClick.current) onSelect(null);
          suppressClick.current = false;
        }}
      >
        <defs>
          <marker id="arrow-exec" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-exec" />
          </marker>
          <marker id="arrow-data" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-data" />
          </marker>
        </defs>
        <g transform={`translate(${view.x}, ${view.y}) scale(${view.scale})`}>
          {layout.edges.map((edge) => {
            const from = byId.get(edge.from);
            const live = from ? nodeState(from, graph) : 'idle';
            return (
              <path
                key={edge.id}
                d={edge.path}
                className={`graph-edge edge-${edge.kind}${live === 'succeeded' ? ' edge-done' : ''}`}
                markerEnd={`url(#arrow-${edge.kind})`}
                data-kind={edge.kind}
              />
            );
          })}
          {layout.nodes.map((node) => (
            <GraphNodeBox key={node.id} node={node} graph={graph} selected={selected === node.id} onSelect={() => onSelect(selected === node.id ? null : node.id)} />
          ))}
        </g>
      </svg>
      <div className="graph-legend muted">
        <span>
          <svg width="26" height="8">
            <line x1="0" y1="4" x2="26" y2="4" className="graph-edge edge-exec" />
          </svg>
          exec
        </span>
        <span>
          <svg width="26" height="8">
            <line x1="0" y1="4" x2="26" y2="4" className="graph-edge edge-data" />
          </svg>
          data
        </span>
        <span>drag to pan · wheel to zoom · click a node for its log</span>
      </div>
    </div>
  );
}
