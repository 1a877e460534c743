/**
 * Compiles the common subset of CEL conditions (field access on signal families, literals,
 * &&, ||, !, ?:, comparisons, arithmetic on doubles, `in` a list literal, size() and the
 * string methods) into plain JavaScript closures: a decision runs every condition, and a
 * closure costs a few nanoseconds where the interpreter costs hundreds.
 *
 * Only conditions that already passed cel-js's type check get here, so operand types are
 * known to agree. Anything outside the subset returns null and stays with the interpreter;
 * test/rules.native.test.ts checks both agree on every default rule.
 */

type Ctx = Record<string, Record<string, unknown> | undefined>;
type Fn = (ctx: Ctx) => unknown;

interface Node {
  op: string;
  args: unknown;
}

class Unsupported extends Error {}

function literal(v: unknown): unknown {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Unsupported();
    return Number(v);
  }
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new Unsupported();
}

const COMPARE: Record<string, (a: never, b: never) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
};

const STRING_METHODS: Record<string, (s: string, arg: string) => boolean> = {
  startsWith: (s, a) => s.startsWith(a),
  endsWith: (s, a) => s.endsWith(a),
  contains: (s, a) => s.includes(a),
};

function build(node: Node): Fn {
  const { op, args } = node;
  switch (op) {
    case 'value': {
      const v = literal(args);
      return () => v;
    }
    case 'id': {
      const name = args as string;
      return (ctx) => ctx[name];
    }
    case '.': {
      const [target, field] = args as [Node, string];
      if (typeof field !== 'string' || (target as Node).op !== 'id') throw new Unsupported();
      const family = (target as { args: string }).args;
      return (ctx) => ctx[family]![field];
    }
    case '&&': {
      const [a, b] = (args as Node[]).map(build) as [Fn, Fn];
      return (ctx) => a(ctx) === true && b(ctx) === true;
    }
    case '||': {
      const [a, b] = (args as Node[]).map(build) as [Fn, Fn];
      return (ctx) => a(ctx) === true || b(ctx) === true;
    }
    case '!_': {
      const a = build(args as Node);
      return (ctx) => a(ctx) !== true;
    }
    case '-_': {
      const a = build(args as Node);
      return (ctx) => -(a(ctx) as number);
    }
    case '?:': {
      const [c, t, f] = (args as Node[]).map(build) as [Fn, Fn, Fn];
      return (ctx) => (c(ctx) === true ? t(ctx) : f(ctx));
    }
    case 'in': {
      const [needle, list] = args as [Node, Node];
      if (list.op !== 'list') throw new Unsupported();
      const values = new Set((list.args as Node[]).map((n) => (n.op === 'value' ? literal(n.args) : unsupported())));
      const a = build(needle);
      return (ctx) => values.has(a(ctx));
    }
    case 'rcall': {
      const [name, target, callArgs] = args as [string, Node, Node[]];
      if (callArgs.length !== 1) throw new Unsupported();
      const t = build(target);
      if (name === 'matches') {
        const arg = callArgs[0]!;
        if (arg.op !== 'value' || typeof arg.args !== 'string') throw new Unsupported();
        const re = new RegExp(arg.args);
        return (ctx) => re.test(t(ctx) as string);
      }
      const method = STRING_METHODS[name];
      if (!method) throw new Unsupported();
      const a = build(callArgs[0]!);
      return (ctx) => method(t(ctx) as string, a(ctx) as string);
    }
    case 'call': {
      const [name, callArgs] = args as [string, Node[]];
      if (name !== 'size' || callArgs.length !== 1) throw new Unsupported();
      const a = build(callArgs[0]!);
      return (ctx) => {
        const v = a(ctx);
        return typeof v === 'string' ? [...v].length : (v as unknown[]).length;
      };
    }
    default: {
      const cmp = COMPARE[op];
      const arith = ARITHMETIC[op];
      if (!cmp && !arith) throw new Unsupported();
      // Integer arithmetic (int literals, size()) truncates and overflows in CEL: leave it to the interpreter.
      if (arith && (args as Node[]).some(isInt)) throw new Unsupported();
      const [a, b] = (args as Node[]).map(build) as [Fn, Fn];
      if (cmp) return (ctx) => cmp(a(ctx) as never, b(ctx) as never);
      if (op === '+') return (ctx) => (a(ctx) as number) + (b(ctx) as number);
      return (ctx) => arith!(a(ctx) as number, b(ctx) as number);
    }
  }
}

function isInt(n: Node): boolean {
  if (n.op === 'value') return typeof n.args === 'bigint';
  if (n.op === 'call') return true;
  if (n.op === '-_') return isInt(n.args as Node);
  if (ARITHMETIC[n.op]) return (n.args as Node[]).some(isInt);
  if (n.op === '?:') return (n.args as Node[]).slice(1).some(isInt);
  return false;
}

function unsupported(): never {
  throw new Unsupported();
}

/** A closure for a type-checked condition, or null when it uses something outside the subset. */
export function compileNative(ast: unknown): ((ctx: Ctx) => unknown) | null {
  try {
    return build(ast as Node);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}
