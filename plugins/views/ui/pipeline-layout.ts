// Where the pipeline page draws each step: a layered layout of the manifest's edges (dagre), computed on the
// server so the browser needs no layout code. `from:` edges are solid; a hop through a table, topic, files or an
// `after:` trigger (a sink's output read by a source) is dashed.
import dagre from '@dagrejs/dagre';
import type { StepStats } from '../../../core/sdk/index.ts';
import { NODE_SIZE as NODE } from './pipeline-size.ts';
import type { GraphLayout } from './types.ts';

export function layoutPipeline(steps: StepStats[]): GraphLayout {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 44, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(steps.map((s) => s.id));
  for (const step of steps) graph.setNode(step.id, { width: NODE.width, height: NODE.height });
  const edges: { from: string; to: string; kind: 'flow' | 'data' }[] = [];
  for (const step of steps) {
    for (const input of step.from) if (ids.has(input)) edges.push({ from: input, to: step.id, kind: 'flow' });
    for (const input of step.dataFrom ?? [])
      if (ids.has(input) && !step.from.includes(input)) edges.push({ from: input, to: step.id, kind: 'data' });
  }
  edges.forEach((e, i) => graph.setEdge(e.from, e.to, { minlen: 1, weight: e.kind === 'flow' ? 2 : 1 }, `e${i}`));
  dagre.layout(graph);
  const size = graph.graph();
  return {
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    nodes: steps.map((s) => {
      const node = graph.node(s.id);
      return { id: s.id, x: Math.round(node.x - NODE.width / 2), y: Math.round(node.y - NODE.height / 2) };
    }),
    edges: edges.map((e, i) => ({
      ...e,
      points: (graph.edge({ v: e.from, w: e.to, name: `e${i}` }).points ?? []).map(
        (p: { x: number; y: number }) => [Math.round(p.x), Math.round(p.y)] as [number, number],
      ),
    })),
  };
}
