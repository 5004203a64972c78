// Numbers and logic: arithmetic over number arrays, comparisons, boolean folds, truthiness, and picking
// one of several values. All data nodes, evaluated when read.
//
// Numbers are float64 throughout, as in the reference engine: its arithmetic nodes read every input as
// float64, so `7 / 2` is 3.5 and integral results print without a fraction.

import { NodeError, data, option, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { indicesOf } from '../act-ports';
import { toBool, toFloat } from '../act-values';
import { arrayItems, tableEntry } from './node-helpers';

/** The items of array input `base` as floats (an item without a value counts as 0). */
const floats = (ctx: NodeContext, base: string): Promise<number[]> => arrayItems(ctx, base, toFloat);
const bools = (ctx: NodeContext, base: string): Promise<boolean[]> => arrayItems(ctx, base, toBool);

/** The reference defines x / 0 as 0 rather than ±Inf or NaN, so a graph never carries those by accident. */
const divide = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** Left fold of the `inputs` array: inputs[0] op inputs[1] op …; no inputs give 0. */
const fold = (name: string, op: (a: number, b: number) => number): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts([data('inputs', 'number', { array: true })], [data('result', 'number')]),
  async evaluate(ctx) {
    const values = await floats(ctx, 'inputs');
    if (values.length === 0) return 0;
    return values.slice(1).reduce(op, values[0]);
  },
});

const TWO_OPERANDS = [data('op1', 'number'), data('op2', 'number')];

/** A node of `op1` and `op2` read as floats. */
const binary = (name: string, outputType: string, op: (a: number, b: number) => number | boolean): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts(TWO_OPERANDS, [data('result', outputType)]),
  async evaluate(ctx) {
    return op(await ctx.float('op1'), await ctx.float('op2'));
  },
});

/**
 * Integer remainder: both operands are truncated first, so 7.9 % 2.5 is 7 % 2 = 1, and the sign follows
 * the dividend (-7 % 3 = -1), as in the reference. A divisor of 0 gives 0; so does one that truncates to
 * 0 (0.5), where the reference crashes with an integer division by zero.
 */
function modulo(a: number, b: number): number {
  const divisor = Math.trunc(b);
  if (b === 0 || divisor === 0) return 0;
  // `|| 0` turns JS's -0 (from -4 % 2) into the 0 an integer remainder is.
  return Math.trunc(a) % divisor || 0;
}

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': divide,
};

/**
 * A node with an `operator` option choosing one of `operators` between `op1` and `op2`. For math-op the
 * reference declares the node but its implementation returns no value at all, so any graph reading it
 * fails; Bellows does what the node's documentation says (with x / 0 = 0, as core/math-divide@v1).
 */
const operatorNode = <T>(name: string, operators: Record<string, (a: number, b: number) => T>, initial: string, outputType: string): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts([data('op1', 'number'), option('operator', Object.keys(operators), initial), data('op2', 'number')], [data('result', outputType)]),
  async evaluate(ctx) {
    const a = await ctx.float('op1');
    const b = await ctx.float('op2');
    const operator = await ctx.string('operator');
    const apply = tableEntry(operators, operator);
    if (!apply) throw new NodeError(`invalid operator '${operator}' (expected one of ${Object.keys(operators).join(' ')})`);
    return apply(a, b);
  },
});

const mathOp = operatorNode('math-op', ARITHMETIC, '+', 'number');

const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '<': (a, b) => a < b,
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

const mathCompareOp = operatorNode('math-compare-op', COMPARISONS, '==', 'bool');

/** Truthiness as Go's conversion to bool: non-empty strings, lists and maps, non-zero numbers. */
const truthiness = (name: string, negate: boolean): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts([data('input', 'any')], [data('result', 'bool')]),
  async evaluate(ctx) {
    return (await ctx.bool('input')) !== negate;
  },
});

/** Left fold of the `inputs` array of bools; no inputs give false. */
const boolFold = (name: string, op: (a: boolean, b: boolean) => boolean): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts([data('inputs', 'bool', { array: true })], [data('result', 'bool')]),
  async evaluate(ctx) {
    const values = await bools(ctx, 'inputs');
    if (values.length === 0) return false;
    return values.slice(1).reduce(op, values[0]);
  },
});

const numberArray: NodeDef = {
  type: 'core/number-array@v1',
  ports: staticPorts([data('inputs', 'number', { array: true })], [data('array', '[]number')]),
  async evaluate(ctx) {
    return floats(ctx, 'inputs');
  },
};

/**
 * Reads only the chosen item: the others may be expensive, fail, or be streams that must not be consumed.
 * Items are picked by their port index (`choices[2]` is index 2).
 */
const selectData: NodeDef = {
  type: 'core/select-data@v1',
  ports: staticPorts([data('index', 'number'), data('choices', 'unknown', { array: true })], [data('value', 'unknown')]),
  async evaluate(ctx) {
    const index = await ctx.int('index');
    const declared = indicesOf('choices', Object.keys(ctx.node.inputs));
    if (!declared.includes(index)) {
      const range = declared.length === 0 ? 'the node has no choices' : `expected ${declared.length === declared[declared.length - 1] + 1 ? `0-${declared.length - 1}` : declared.join(', ')}`;
      throw new NodeError(`index out of range: ${index}, ${range}`);
    }
    return ctx.read(`choices[${index}]`);
  },
};

// The fold and comparison nodes are the operators of math-op and math-compare-op, one node per operator.
export const mathNodes: readonly NodeDef[] = [
  fold('math-add', ARITHMETIC['+']),
  fold('math-subtract', ARITHMETIC['-']),
  fold('math-multiply', ARITHMETIC['*']),
  fold('math-divide', ARITHMETIC['/']),
  binary('math-modulo', 'number', modulo),
  mathOp,
  mathCompareOp,
  binary('math-equal', 'bool', COMPARISONS['==']),
  binary('math-not-equal', 'bool', COMPARISONS['!=']),
  binary('math-greater', 'bool', COMPARISONS['>']),
  binary('math-greater-equal', 'bool', COMPARISONS['>=']),
  binary('math-less', 'bool', COMPARISONS['<']),
  binary('math-lesser-equal', 'bool', COMPARISONS['<=']),
  truthiness('negate', true),
  truthiness('affirm', false),
  boolFold('bool-and', (a, b) => a && b),
  boolFold('bool-or', (a, b) => a || b),
  boolFold('bool-xor', (a, b) => a !== b),
  // "Xand" is the reference's name for equality folded left (XNOR): true, false, false gives true.
  boolFold('bool-xand', (a, b) => a === b),
  numberArray,
  selectData,
];
