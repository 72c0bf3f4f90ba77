import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import YAML from "yaml";

type Json = Record<string, unknown>;
const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/** One operation of the spec, ready to match and validate requests against. */
export interface Operation {
  method: string;
  /** The path template, e.g. `/services/{name}/{version}`. */
  template: string;
  operationId: string;
  /** Scheme names of each alternative; `[]` when the operation is public. */
  security: string[][];
  match(pathname: string): Record<string, string> | undefined;
  /** Validates the query and body; returns readable violations, empty when the request is valid. */
  validate(request: { query: URLSearchParams; contentType: string; body: Buffer; form?: FormData }): string[];
  /** The media types the operation accepts, if it takes a body. */
  bodyTypes: string[];
  /**
   * A JSON answer as ASP.NET writes it: every property its response schema has is present, `null`
   * when unset (Microsoft's Python SDK reads such fields and fails when they are missing).
   */
  complete(status: number, payload: unknown): unknown;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/**
 * Loads an OpenAPI 3.1 document and compiles a validator for each operation. Schemas are compiled
 * by reference into the loaded document, so `$ref`s resolve exactly as the spec writes them.
 */
export function loadOperations(specPath: string): Operation[] {
  const doc = YAML.parse(readFileSync(specPath, "utf8")) as Json;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat("binary", true);
  ajv.addSchema({ ...doc, $id: "spec" });

  const resolve = (node: unknown, pointer: string): [Json, string] => {
    let current = node as Json;
    let at = pointer;
    while (typeof current?.$ref === "string") {
      at = current.$ref;
      current = current.$ref
        .slice(2)
        .split("/")
        .reduce<unknown>((n, k) => (n as Json)[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc) as Json;
    }
    return [current, at];
  };
  const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  const compile = (pointer: string): ValidateFunction => ajv.compile({ $ref: `spec#${encodeURI(pointer)}` });
  const globalSecurity = (doc.security as Json[] | undefined) ?? [];

  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const names: string[] = [];
    const pattern = template
      .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
      .replace(/\\?\{([^}]+)\\?\}/g, (_, name: string) => (names.push(name), "([^/]+)"));
    const regex = new RegExp(`^${pattern}$`);
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const base = `#/paths/${escape(template)}/${method}`;
      const params = [
        ...((item.parameters as unknown[]) ?? []).map((p, i) =>
          resolve(p, `#/paths/${escape(template)}/parameters/${i}`),
        ),
        ...((op.parameters as unknown[]) ?? []).map((p, i) => resolve(p, `${base}/parameters/${i}`)),
      ];
      const queryChecks = params
        .filter(([p]) => p.in === "query")
        .map(([p, at]) => ({
          name: p.name as string,
          required: p.required === true,
          validate: compile(`${at.replace(/^#/, "")}/schema`),
        }));
      const [body, bodyAt] = op.requestBody ? resolve(op.requestBody, `${base}/requestBody`) : [undefined, ""];
      const content = (body?.content ?? {}) as Record<string, Json>;
      const bodyChecks = Object.fromEntries(
        Object.entries(content).map(([type, media]) => {
          const [schema] = resolve(media.schema, "");
          return [type, { schema, validate: compile(`${bodyAt.replace(/^#/, "")}/content/${escape(type)}/schema`) }];
        }),
      );
      const security = ((op.security as Json[] | undefined) ?? globalSecurity).map((alt) => Object.keys(alt));
      const responseSchemas = new Map<number, Json>();
      for (const [code, response] of Object.entries((op.responses ?? {}) as Record<string, unknown>)) {
        const schema = (resolve(response, "")[0].content as Record<string, Json> | undefined)?.["application/json"]
          ?.schema;
        if (/^2\d\d$/.test(code) && schema) responseSchemas.set(Number(code), schema as Json);
      }
      operations.push({
        method: method.toUpperCase(),
        template,
        operationId: op.operationId as string,
        security,
        bodyTypes: Object.keys(content),
        complete(status, payload) {
          const schema = responseSchemas.get(status);
          return schema ? withNulls(payload, schema, (node) => resolve(node, "")[0]) : payload;
        },
        match(pathname) {
          const m = regex.exec(pathname);
          if (!m) return undefined;
          try {
            return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
          } catch {
            return undefined;
          }
        },
        validate({ query, contentType, body: raw, form }) {
          const violations: string[] = [];
          for (const check of queryChecks) {
            const value = query.get(check.name);
            if (value === null) {
              if (check.required) violations.push(`query parameter ${check.name} is required`);
            } else if (!check.validate(value)) {
              violations.push(...describe(check.validate, `query parameter ${check.name}`));
            }
          }
          if (!body) return violations;
          const type = contentType.split(";")[0]!.trim().toLowerCase();
          if (raw.length === 0 && !form) {
            if (body.required) violations.push("a request body is required");
            return violations;
          }
          const check = bodyChecks[type];
          if (!check) {
            violations.push(
              `content type ${type || "(none)"} is not accepted; expected ${Object.keys(bodyChecks).join(" or ")}`,
            );
            return violations;
          }
          if (type === "application/json") {
            let value: unknown;
            try {
              value = JSON.parse(raw.toString("utf8"));
            } catch {
              violations.push("the body is not valid JSON");
              return violations;
            }
            if (!check.validate(value)) violations.push(...describe(check.validate, "body"));
          } else if (type === "multipart/form-data") {
            const properties = (check.schema.properties ?? {}) as Record<string, Json>;
            for (const name of (check.schema.required as string[] | undefined) ?? []) {
              if (!form?.has(name)) violations.push(`form field ${name} is required`);
            }
            for (const [name, prop] of Object.entries(properties)) {
              const value = form?.get(name);
              if (value !== null && value !== undefined && prop.format === "binary" && typeof value === "string") {
                violations.push(`form field ${name} must be a file part`);
              }
            }
          }
          return violations;
        },
      });
    }
  }
  return operations;
}

/** `value` with each property `schema` declares and `value` lacks set to null, in nested objects and arrays too. */
function withNulls(value: unknown, schema: Json, deref: (node: unknown) => Json, depth = 0): unknown {
  const resolved = deref(schema);
  if (depth > 32 || typeof value !== "object" || value === null || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value))
    return resolved.items ? value.map((item) => withNulls(item, resolved.items as Json, deref, depth + 1)) : value;
  const properties = resolved.properties as Record<string, Json> | undefined;
  // An empty object is an answer with nothing in it (revoke's), not a model with its fields unset.
  if (!properties || Object.keys(value).length === 0) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, property] of Object.entries(properties)) {
    out[name] = name in out ? withNulls(out[name], property, deref, depth + 1) : null;
  }
  return out;
}

function describe(validate: ValidateFunction, subject: string): string[] {
  return (validate.errors ?? []).map(
    (e) => `${subject}${e.instancePath.replace(/\//g, ".")} ${e.message ?? "is invalid"}`,
  );
}
