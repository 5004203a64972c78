import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ActGraphDoc } from '../../web/src/api/wire';
import { layoutGraph, NODE_HEIGHT, NODE_WIDTH, type Layout } from '../../web/src/graph/graph-layout';

// The graph view must not suggest dependencies that are not there: an edge may touch only the
// two nodes it connects. Checked on every example graph by sampling each drawn curve.

type Point = { x: number; y: number };

/** Points along an SVG path of the form `M x y C … , … , … C …` (what layoutGraph draws). */
function sample(pathText: string, perCurve = 40): Point[] {
  const numbers = pathText.match(/-?\d+(\.\d+)?/g)!.map(Number);
  let current = { x: numbers[0], y: numbers[1] };
  const points = [current];
  for (let i = 2; i + 5 < numbers.length; i += 6) {
    const [c1, c2, end] = [0, 2, 4].map((k) => ({ x: numbers[i + k], y: numbers[i + k + 1] }));
    for (let step = 1; step <= perCurve; step++) {
      const t = step / perCurve;
      const u = 1 - t;
      points.push({
        x: u ** 3 * current.x + 3 * u ** 2 * t * c1.x + 3 * u * t ** 2 * c2.x + t ** 3 * end.x,
        y: u ** 3 * current.y + 3 * u ** 2 * t * c1.y + 3 * u * t ** 2 * c2.y + t ** 3 * end.y,
      });
    }
    current = end;
  }
  return points;
}

function crossings(layout: Layout): string[] {
  const found: string[] = [];
  for (const edge of layout.edges) {
    const others = layout.nodes.filter((node) => node.id !== edge.from && node.id !== edge.to && !node.isGroup);
    for (const point of sample(edge.path)) {
      const hit = others.find((node) => point.x > node.x + 2 && point.x < node.x + NODE_WIDTH - 2 && point.y > node.y + 2 && point.y < node.y + NODE_HEIGHT - 2);
      if (hit) {
        found.push(`${edge.from}.${edge.fromPort} → ${edge.to} passes through ${hit.id}`);
        break;
      }
    }
  }
  return found;
}

const graphsDir = path.resolve('test/fixtures/act');
const graphs = fs.readdirSync(graphsDir).filter((name) => name.endsWith('.act'));

describe('graph layout', () => {
  it.each(graphs)('%s: no edge runs through a node it does not connect', (name) => {
    const layout = layoutGraph(parseYaml(fs.readFileSync(path.join(graphsDir, name), 'utf8')) as ActGraphDoc);
    expect(layout.nodes.length).toBeGreaterThan(0);
    expect(crossings(layout)).toEqual([]);
  });

  it('bows an edge that skips a node around it, and labels ports other than plain exec', () => {
    const layout = layoutGraph(parseYaml(fs.readFileSync(path.join(graphsDir, 'concurrent.act'), 'utf8')) as ActGraphDoc);
    const skipping = layout.edges.find((edge) => edge.from === 'fan-out' && edge.to === 'all-done');
    expect(skipping, 'concurrent.act has fan-out → all-done').toBeDefined();
    expect(crossings(layout)).toEqual([]);
    expect(layout.labels.map((label) => label.text)).toContain('exec-completed');
  });
});
