// `${{ namespace.NAME }}` substitution inside string literals. Only three namespaces exist; anything else
// is reported before the graph runs rather than silently left in a script.

export const NAMESPACES = ['inputs', 'env', 'secrets'] as const;
export type Namespace = (typeof NAMESPACES)[number];

export type ExpressionRef = { raw: string; namespace: string; name: string };

export type ExpressionScope = {
  inputs: Record<string, string>;
  env: Record<string, string>;
  secrets: Record<string, string>;
};

const EXPRESSION = /\$\{\{([^}]*?)\}\}/g;
const DOTTED = /^([A-Za-z_][\w-]*)\.([\w.-]+)$/;
const BRACKETED = /^([A-Za-z_][\w-]*)\[\s*(['"])(.*)\2\s*\]$/;

export function findExpressions(text: string): ExpressionRef[] {
  const refs: ExpressionRef[] = [];
  for (const match of text.matchAll(EXPRESSION)) refs.push(parseRef(match[0], match[1].trim()));
  return refs;
}

function parseRef(raw: string, body: string): ExpressionRef {
  const dotted = DOTTED.exec(body);
  if (dotted) return { raw, namespace: dotted[1], name: dotted[2] };
  const bracketed = BRACKETED.exec(body);
  if (bracketed) return { raw, namespace: bracketed[1], name: bracketed[3] };
  return { raw, namespace: body, name: '' };
}

export function isNamespace(value: string): value is Namespace {
  return (NAMESPACES as readonly string[]).includes(value);
}

/**
 * Keys given through ACT_INPUT_* environment variables are lower-cased on read, while graphs usually
 * write `secrets.DEPLOY_TOKEN`: an exact match wins, otherwise the lookup ignores case.
 */
export function lookup(values: Record<string, string>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(values)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Replaces every known expression; unknown ones stay as written (validation has reported them). */
export function substitute(text: string, scope: ExpressionScope): string {
  if (!text.includes('${{')) return text;
  return text.replace(EXPRESSION, (raw: string, body: string) => {
    const ref = parseRef(raw, body.trim());
    if (!isNamespace(ref.namespace) || ref.name === '') return raw;
    // env names are case-sensitive on the hosts we run on; inputs and secrets are not (see lookup).
    if (ref.namespace === 'env') return scope.env[ref.name] ?? '';
    return lookup(scope[ref.namespace], ref.name) ?? '';
  });
}
