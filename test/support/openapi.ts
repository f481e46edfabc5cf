/**
 * Checks answers against the published OpenAPI document (/docs/json): the response schema of
 * the operation and status, validated with ajv (issue 18 item 4). A schema that lists a field
 * the answer lacks, or types one wrongly, fails the test that made the request.
 */
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

type Json = Record<string, unknown>;
interface Doc {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>
  >;
  components?: { schemas?: Record<string, Json> };
}

/** Inlines `#/components/schemas/X` references (ajv does not know the document around them). */
function inline(node: unknown, components: Record<string, Json>, depth = 0): unknown {
  if (depth > 50) throw new Error('schema nests too deep (a $ref cycle?)');
  if (Array.isArray(node)) return node.map((n) => inline(n, components, depth + 1));
  if (!node || typeof node !== 'object') return node;
  const o = node as Json;
  if (typeof o.$ref === 'string') {
    const name = o.$ref.replace('#/components/schemas/', '');
    const target = components[name];
    if (!target) throw new Error(`unresolved $ref ${o.$ref}`);
    return inline(target, components, depth + 1);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, inline(v, components, depth + 1)]));
}

export class OpenApiCheck {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: { template: string; re: RegExp; params: number }[];

  constructor(readonly doc: Doc) {
    (addFormats as unknown as (a: Ajv) => void)(this.ajv);
    this.templates = Object.keys(doc.paths)
      .map((template) => ({
        template,
        re: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        params: (template.match(/\{/g) ?? []).length,
      }))
      // A literal segment wins over a parameter: /v1/messages/send before /v1/messages/{id}.
      .sort((a, b) => a.params - b.params);
  }

  static async load(t: TestApp): Promise<OpenApiCheck> {
    const res = await t.call('GET', '/docs/json', { auth: null });
    expect(res.status).toBe(200);
    return new OpenApiCheck(res.body as Doc);
  }

  /**
   * The documented response schema for a request, or undefined when the document has none: the
   * JSON one, or the one of the answer's content type (the compatible faces answer text/plain).
   */
  schemaFor(method: string, path: string, status: number, type = 'application/json'): Json | undefined {
    const bare = path.split('?')[0] ?? path;
    const found = this.templates.find(
      (t) => t.re.test(bare) && this.doc.paths[t.template]?.[method.toLowerCase()],
    );
    if (!found) return undefined;
    const op = this.doc.paths[found.template]?.[method.toLowerCase()];
    const response = op?.responses?.[String(status)] ?? op?.responses?.default;
    return (response?.content?.[type] ?? response?.content?.['application/json'])?.schema;
  }

  /** Checks the body when the document has a schema for this answer (every /v1 call of TestApp). */
  checkIfDocumented(method: string, path: string, res: { status: number; body: unknown }): void {
    if (res.status === 204 || this.schemaFor(method, path, res.status)) this.expectValid(method, path, res);
  }

  /** Fails unless the document has a schema for this answer and the body matches it. */
  expectValid(method: string, path: string, res: { status: number; body: unknown; headers?: Headers }): void {
    if (res.status === 204) {
      expect(res.body, `${method} ${path} → 204 with a body`).toBe('');
      return;
    }
    const type = res.headers?.get('content-type')?.split(';')[0]?.trim() ?? 'application/json';
    const schema = this.schemaFor(method, path, res.status, type);
    expect(schema, `${method} ${path} → ${res.status} is not documented`).toBeDefined();
    const key = `${method} ${path.split('?')[0]} ${res.status} ${type}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(inline(schema, this.doc.components?.schemas ?? {}) as Json);
      this.compiled.set(key, validate);
    }
    const ok = validate(res.body);
    expect(
      ok,
      `${key}: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body).slice(0, 2000)}`,
    ).toBe(true);
  }
}
