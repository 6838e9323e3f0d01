// The lifecycle as text: every state, the operation a busy state runs, and which event leads where.
// `berth statechart` prints it, so the machine the runtime uses is the documentation of itself.
import { containerMachine } from './container.js';

/** The parts of XState's state node definition read here. */
interface Node {
  type: string;
  initial?: { target: Target[] };
  /** A busy state's `runs`: the operation under way there (its outcome comes back as DONE or FAILED). */
  meta?: { runs?: string };
  on: Record<string, { guard?: unknown; target?: Target[] }[]>;
  states: Record<string, Node>;
}
type Target = string | { id: string };

const name = (t: Target) => (typeof t === 'string' ? t : t.id).replace(/^#?container\./, '');

function lines(node: Node, depth: number): string[] {
  return Object.entries(node.states).flatMap(([key, child]) => {
    const detail = [
      ...(child.meta?.runs ? [`runs ${child.meta.runs}`] : []),
      ...Object.entries(child.on).flatMap(([event, ts]) => ts.map((t) => `${event}${t.guard ? ` [${String(t.guard)}]` : ''} → ${(t.target ?? []).map(name).join(', ')}`)),
      ...(child.type === 'final' ? ['final'] : []),
    ];
    return [`${'  '.repeat(depth)}${key}${detail.length ? `: ${detail.join('; ')}` : ''}`, ...lines(child, depth + 1)];
  });
}

export function describeLifecycle(): string {
  const root = containerMachine.definition as unknown as Node;
  return [`initial: ${root.initial?.target.map(name).join(', ')}`, ...lines(root, 0)].join('\n');
}
