// SVG view of an `.act` job: nodes at their positions, exec (solid) and data (dashed) edges, pan
// (drag) and zoom (wheel), live node states; clicking a node selects its log section.
import { useEffect, useMemo, useRef, useState, type PointerEvent, type WheelEvent } from 'react';
import type { JobGraph, NodeState } from '../api/wire';
import { GROUP_SHADOW, layoutGraph, NODE_HEIGHT, NODE_WIDTH, type PlacedNode } from './graph-layout';

type View = { x: number; y: number; scale: number };

const FIT_PAD = 40;
// Below this the 11 px node type text is under ~9 px on screen.
const MIN_FIT_SCALE = 0.85;
const MAX_FIT_SCALE = 1.2;
// The view grows with the graph up to this height, so a tall graph needs less panning.
const MIN_VIEW_HEIGHT = 300;
const MAX_VIEW_HEIGHT = 480;

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
      {node.isGroup && <rect className="node-group-shadow" x={GROUP_SHADOW} y={GROUP_SHADOW} width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />}
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
  // A refetch (the job's state changed) brings an equal graph as a new object; laying it out and
  // fitting it again would undo the viewer's pan and zoom, so both key on the graph's content.
  const shape = useMemo(() => JSON.stringify(graph.graph), [graph.graph]);
  const layout = useMemo(() => layoutGraph(JSON.parse(shape) as typeof graph.graph), [shape]);
  const svg = useRef<SVGSVGElement>(null);
  const [view, setView] = useState<View>({ x: 0, y: 0, scale: 1 });
  const drag = useRef<{ x: number; y: number; view: View; moved: boolean } | null>(null);

  // Fit the graph once it is known, but never so small that node text is unreadable: a graph too big
  // for that starts at its entry side, and pan/zoom reach the rest.
  useEffect(() => {
    const element = svg.current;
    if (!element) return;
    const { width, height } = element.getBoundingClientRect();
    const b = layout.bounds;
    const fit = Math.min((width - FIT_PAD * 2) / b.width, (height - FIT_PAD * 2) / b.height);
    const scale = Math.min(MAX_FIT_SCALE, Math.max(MIN_FIT_SCALE, fit));
    const centred = (size: number, start: number, length: number) => (size - length * scale) / 2 - start * scale;
    // Keeps the graph's far side from coming off its edge of the view (no empty band past the graph).
    const clamp = (offset: number, size: number, start: number, length: number) => Math.min(FIT_PAD - start * scale, Math.max(size - FIT_PAD - (start + length) * scale, offset));
    const entry = layout.entry;
    const x = b.width * scale <= width - FIT_PAD * 2 ? centred(width, b.x, b.width) : FIT_PAD - b.x * scale;
    const y =
      b.height * scale <= height - FIT_PAD * 2 || !entry
        ? centred(height, b.y, b.height)
        : clamp(height / 2 - (entry.y + NODE_HEIGHT / 2) * scale, height, b.y, b.height);
    setView({ scale, x, y });
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
  const viewHeight = Math.round(Math.min(MAX_VIEW_HEIGHT, Math.max(MIN_VIEW_HEIGHT, layout.bounds.height + FIT_PAD * 2)));
  return (
    <div className="graph-viewer" data-testid="graph-viewer">
      <svg
        ref={svg}
        className={drag.current?.moved ? 'graph-svg dragging' : 'graph-svg'}
        style={{ height: viewHeight }}
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
                data-from={edge.from}
                data-to={edge.to}
              >
                <title>{`${edge.from}${edge.fromPort ? `.${edge.fromPort}` : ''} → ${edge.to}${edge.toPort ? `.${edge.toPort}` : ''}`}</title>
              </path>
            );
          })}
          {layout.nodes.map((node) => (
            <GraphNodeBox key={node.id} node={node} graph={graph} selected={selected === node.id} onSelect={() => onSelect(selected === node.id ? null : node.id)} />
          ))}
          {/* After the nodes so a label is never under a neighbouring box. */}
          {layout.labels.map((label) => (
            <text key={label.id} className={`port-label port-label-${label.kind}`} x={label.x} y={label.y}>
              {label.text}
            </text>
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
