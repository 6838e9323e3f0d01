// The lifecycle as text: every state, what it runs, and which event leads where. `berth statechart`
// prints it, so the machine the runtime uses is the documentation of itself.
import { containerMachine } from './container.js';

/** The parts of XState's state node definition read here. */
interface Node {
  type: string;
  initial?: { target: Target[] };
  invoke: { src: unknown }[];
  on: Record<string, { guard?: unknown; target?: Target[] }[]>;
  states: Record<string, Node>;
}
type Target = string | { id: string };

const name = (t: Target) => (typeof t === 'string' ? t : t.id).replace(/^#?container\./, '');
/** XState names the end of an invoked effect `xstate.done.actor.<id>`: here it is done or error. */
const eventName = (e: string) => (e.startsWith('xstate.done.') ? 'done' : e.startsWith('xstate.error.') ? 'error' : e);

function lines(node: Node, depth: number): string[] {
  return Object.entries(node.states).flatMap(([key, child]) => {
    const detail = [
      ...child.invoke.map((i) => `runs ${String(i.src)}`),
      ...Object.entries(child.on).flatMap(([event, ts]) => ts.map((t) => `${eventName(event)}${t.guard ? ` [${String(t.guard)}]` : ''} → ${(t.target ?? []).map(name).join(', ')}`)),
      ...(child.type === 'final' ? ['final'] : []),
    ];
    return [`${'  '.repeat(depth)}${key}${detail.length ? `: ${detail.join('; ')}` : ''}`, ...lines(child, depth + 1)];
  });
}

export function describeLifecycle(): string {
  const root = containerMachine.definition as unknown as Node;
  return [`initial: ${root.initial?.target.map(name).join(', ')}`, ...lines(root, 0)].join('\n');
}
