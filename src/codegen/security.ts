import type { OperationSecurityMap } from "../auth/security.js";
import type { OpenApiDocument, SecurityRequirement } from "./normalize.js";

export type { OperationSecurityMap, SecurityAlternative } from "../auth/security.js";

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** A security scheme as the runtime needs it: enough to know where a credential goes. */
export type SecuritySchemeInfo =
  | { type: "http"; scheme: string }
  | { type: "apiKey"; in: "header" | "query" | "cookie"; name: string }
  | { type: "oauth2" | "openIdConnect" | "mutualTLS" };

/** Reads `security` and `securitySchemes` from an OpenAPI 3 document, as the spec defines them. */
export function extractSecurity(doc: OpenApiDocument): {
  schemes: Record<string, SecuritySchemeInfo>;
  operations: OperationSecurityMap;
} {
  const schemes: Record<string, SecuritySchemeInfo> = {};
  for (const [name, raw] of Object.entries(doc.components?.securitySchemes ?? {})) {
    const scheme = raw as Record<string, unknown>;
    if (scheme.type === "http") schemes[name] = { type: "http", scheme: String(scheme.scheme ?? "").toLowerCase() };
    else if (scheme.type === "apiKey")
      schemes[name] = { type: "apiKey", in: scheme.in as "header" | "query" | "cookie", name: String(scheme.name) };
    else if (scheme.type === "oauth2" || scheme.type === "openIdConnect" || scheme.type === "mutualTLS")
      schemes[name] = { type: scheme.type };
  }
  const operations: Record<string, Record<string, SecurityRequirement[]>> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as { security?: SecurityRequirement[] } | undefined;
      if (!operation) continue;
      // An operation without its own `security` inherits the document's; without either, nothing is declared.
      const security = operation.security ?? doc.security;
      if (security === undefined) continue;
      (operations[path] ??= {})[method] = security.map((alternative) =>
        Object.fromEntries(Object.entries(alternative).map(([name, scopes]) => [name, [...(scopes ?? [])]])),
      );
    }
  }
  return { schemes, operations };
}

/** Renders the security map as a small, dependency-free TypeScript module. */
export function renderSecurityModule(doc: OpenApiDocument, header: string): string {
  const { schemes, operations } = extractSecurity(doc);
  return (
    `${header}\n` +
    `/** Security schemes declared by the spec, by name. */\n` +
    `export const securitySchemes = ${JSON.stringify(schemes, null, 2)} as const;\n\n` +
    `/**\n * Security of each operation: path template, then method, then alternatives (any one suffices),\n` +
    ` * each naming the schemes it needs together. \`[]\` means no credentials are sent.\n */\n` +
    `export const operationSecurity = ${JSON.stringify(operations, null, 2)} as const;\n`
  );
}
