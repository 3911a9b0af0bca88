/**
 * The config reference (docs/config.md), written from the schema's own descriptions, types and
 * defaults, so that it says what the code accepts.
 */
import { configJsonSchema } from './json-schema.js';

type Node = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  anyOf?: Node[];
};

export function configReference(): string {
  const rows: string[] = [];
  walk(configJsonSchema() as Node, '', rows);
  return [
    '# Config reference',
    '',
    'Every field of the config file (see the README for where aifd looks for it), written by `npm run schema`',
    'from `src/config/schema.ts`. `[]` is an item of a list, `*` any name in a map. Durations take',
    '`500ms`, `30s`, `15m`, `1h`, `7d`; sizes `512kb`, `25mb`; rates `100/minute;1000/day`. Any string may',
    'name an environment variable as `${NAME}`.',
    '',
    '| field | type | default | what it is |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

function walk(node: Node, path: string, rows: string[]): void {
  const object = objectOf(node);
  for (const [name, child] of Object.entries(object?.properties ?? {})) {
    const at = path ? `${path}.${name}` : name;
    rows.push(
      `| \`${at}\` | ${typeOf(child)} | ${defaultOf(child)} | ${(child.description ?? '').replaceAll('|', '\\|')} |`,
    );
    walk(child, at, rows);
    for (const inner of [listItem(child), mapValue(child)]) if (inner) walk(inner.node, `${at}${inner.suffix}`, rows);
  }
}

function objectOf(node: Node): Node | undefined {
  if (node.properties) return node;
  return node.anyOf?.find((option) => option.properties);
}

function listItem(node: Node): { node: Node; suffix: string } | undefined {
  const list = node.items ? node : node.anyOf?.find((option) => option.items);
  return list?.items && objectOf(list.items) ? { node: list.items, suffix: '[]' } : undefined;
}

function mapValue(node: Node): { node: Node; suffix: string } | undefined {
  const value = node.additionalProperties;
  if (!value || typeof value !== 'object') return undefined;
  if (objectOf(value)) return { node: value, suffix: '.*' };
  const inner = value.anyOf?.find((option) => option.items && objectOf(option.items))?.items;
  return inner ? { node: inner, suffix: '.*[]' } : undefined;
}

function typeOf(node: Node): string {
  if (node.enum) return node.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' \\| ');
  if (node.anyOf) return [...new Set(node.anyOf.map(typeOf))].join(' \\| ');
  if (node.items) return `list of ${typeOf(node.items)}`;
  if (node.additionalProperties && typeof node.additionalProperties === 'object') return 'map';
  if (Array.isArray(node.type)) return node.type.join(' \\| ');
  return node.type ?? 'any';
}

function defaultOf(node: Node): string {
  if (node.default === undefined) return '';
  return `\`${JSON.stringify(node.default)}\``;
}
