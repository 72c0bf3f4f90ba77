/**
 * Compares the project's OpenAPI 3.1 description with Microsoft's Swagger 2.0 file, operation by
 * operation, and lists every difference as a readable line. Ours may be stricter (required fields,
 * explicit error responses, security) and may widen a type where servers send more than the
 * original admits; each widening or added property is named in `ALLOWED_ADDITIONS` with its reason.
 */

type Json = Record<string, unknown>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"] as const;

/** Properties ours has that Microsoft's lacks, each with the reason. */
export const ALLOWED_ADDITIONS: Record<string, string> = {
  "AccessTokenResponse.expires_in": "real servers and the product docs send expires_in; the 9.3.0 file omits it",
};

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function deref(root: Json, node: unknown, seen = new Set<string>()): Json {
  let current = node as Json;
  while (isObj(current) && typeof current.$ref === "string") {
    const ref = current.$ref;
    if (seen.has(ref)) break;
    seen.add(ref);
    const target = ref
      .slice(2)
      .split("/")
      .reduce<unknown>((n, k) => (n as Json)?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], root);
    // In 3.1 a $ref may have siblings (e.g. description); they do not change the shape.
    current = target as Json;
  }
  return current;
}

function typesOf(schema: Json): Set<string> {
  const t = schema.type;
  if (Array.isArray(t)) return new Set(t as string[]);
  if (typeof t === "string") return new Set([t]);
  if (schema.properties || schema.additionalProperties) return new Set(["object"]);
  return new Set(["any"]);
}

const refName = (schema: unknown): string | undefined =>
  isObj(schema) && typeof schema.$ref === "string" ? schema.$ref.split("/").at(-1) : undefined;

/** A label for a schema in messages: `#Name` of the schema or of its items, else nothing. */
export function schemaLabel(schema: unknown): string {
  const name = refName(schema) ?? (isObj(schema) && refName(schema.items) ? refName(schema.items) : undefined);
  return name ? ` #${name}` : "";
}

export function compareSchemas(
  ms: { root: Json; schema: unknown },
  ours: { root: Json; schema: unknown },
  where: string,
  diffs: string[],
  ancestors: Set<unknown> = new Set(),
): void {
  const a = deref(ms.root, ms.schema);
  const b = deref(ours.root, ours.schema);
  // Recursive schemas (StatusResponse holds StatusResponse) are compared once per path.
  if (!isObj(a) || ancestors.has(a)) return;
  if (!isObj(b)) {
    diffs.push(`${where}: Microsoft has a schema, ours has none`);
    return;
  }
  const inner = new Set(ancestors).add(a);
  const msTypes = typesOf(a);
  const ourTypes = typesOf(b);
  for (const t of msTypes) {
    const ok =
      ourTypes.has(t) ||
      ourTypes.has("any") ||
      (t === "file" && ourTypes.has("string") && b.format === "binary") ||
      (t === "integer" && ourTypes.has("number"));
    if (!ok) diffs.push(`${where}: type ${t} in Microsoft's, ours allows ${[...ourTypes].join("|")}`);
  }
  if (a.format === "binary" && b.format !== "binary") diffs.push(`${where}: Microsoft's is binary, ours is not`);
  if (Array.isArray(a.enum)) {
    const ourEnum = new Set((b.enum as unknown[] | undefined) ?? []);
    const missing = (a.enum as unknown[]).filter((v) => !ourEnum.has(v));
    if (missing.length) diffs.push(`${where}: enum values missing in ours: ${missing.join(", ")}`);
  }
  if (msTypes.has("array"))
    compareSchemas(
      { root: ms.root, schema: a.items },
      { root: ours.root, schema: b.items },
      `${where}[]`,
      diffs,
      inner,
    );
  const msProps = (a.properties as Json | undefined) ?? {};
  const ourProps = (b.properties as Json | undefined) ?? {};
  for (const name of Object.keys(msProps)) {
    if (!(name in ourProps)) diffs.push(`${where}: property ${name} missing in ours`);
    else
      compareSchemas(
        { root: ms.root, schema: msProps[name] },
        { root: ours.root, schema: ourProps[name] },
        `${where}.${name}`,
        diffs,
        inner,
      );
  }
  const ourName = refName(ours.schema);
  for (const name of Object.keys(ourProps)) {
    if (!(name in msProps) && !(ourName && `${ourName}.${name}` in ALLOWED_ADDITIONS))
      diffs.push(`${where}: property ${name} exists only in ours`);
  }
  // `additionalProperties: true` in ours accepts whatever Microsoft's map holds.
  if (isObj(a.additionalProperties) && b.additionalProperties !== true) {
    compareSchemas(
      { root: ms.root, schema: a.additionalProperties },
      { root: ours.root, schema: b.additionalProperties },
      `${where}{}`,
      diffs,
      inner,
    );
  }
}

/** Every difference between Microsoft's Swagger 2.0 file and our OpenAPI 3.1 description. */
export function compareSpecs(ms: Json, ours: Json): string[] {
  const diffs: string[] = [];
  const msPaths = ms.paths as Record<string, Json>;
  const ourPaths = (ours.paths ?? {}) as Record<string, Json>;
  for (const [path, msItem] of Object.entries(msPaths)) {
    const ourItem = ourPaths[path];
    for (const method of METHODS) {
      const msOp = msItem[method] as Json | undefined;
      if (!msOp) continue;
      const op = `${method.toUpperCase()} ${path}`;
      const ourOp = ourItem?.[method] as Json | undefined;
      if (!ourOp) {
        diffs.push(`${op}: missing in ours`);
        continue;
      }
      if (msOp.operationId !== ourOp.operationId)
        diffs.push(
          `${op}: operationId ${String(msOp.operationId)} in Microsoft's, ${String(ourOp.operationId)} in ours`,
        );
      const ourParams = [...((ourItem!.parameters as unknown[]) ?? []), ...((ourOp.parameters as unknown[]) ?? [])].map(
        (p) => deref(ours, p),
      );
      const requestBody = ourOp.requestBody ? deref(ours, ourOp.requestBody) : undefined;
      const content = (requestBody?.content ?? {}) as Record<string, Json>;
      for (const msParam of (msOp.parameters as Json[] | undefined) ?? []) {
        const label = `${op}: ${String(msParam.in)} parameter ${String(msParam.name)}`;
        if (msParam.in === "body") {
          const media = content["application/json"] ?? content["application/octet-stream"];
          if (!media) diffs.push(`${label}: ours has no JSON or binary request body`);
          else {
            if (ourOp["x-codegen-request-body-name"] !== msParam.name)
              diffs.push(`${label}: ours names the body ${String(ourOp["x-codegen-request-body-name"])}`);
            if (msParam.required && !requestBody?.required)
              diffs.push(`${label}: required in Microsoft's, optional in ours`);
            compareSchemas(
              { root: ms, schema: msParam.schema },
              { root: ours, schema: media.schema },
              `${label}${schemaLabel(msParam.schema)}`,
              diffs,
            );
          }
        } else if (msParam.in === "formData") {
          const form = content["multipart/form-data"];
          const schema = form ? deref(ours, form.schema) : undefined;
          const prop = (schema?.properties as Json | undefined)?.[msParam.name as string];
          if (!prop) diffs.push(`${label}: missing from ours' multipart body`);
          else {
            compareSchemas({ root: ms, schema: { type: msParam.type } }, { root: ours, schema: prop }, label, diffs);
            const required = ((schema!.required as string[] | undefined) ?? []).includes(msParam.name as string);
            if (Boolean(msParam.required) !== required)
              diffs.push(
                `${label}: required ${String(Boolean(msParam.required))} in Microsoft's, ${String(required)} in ours`,
              );
          }
        } else {
          const mine = ourParams.find((p) => p.name === msParam.name && p.in === msParam.in);
          if (!mine) diffs.push(`${label}: missing in ours`);
          else {
            if (Boolean(msParam.required) !== Boolean(mine.required)) diffs.push(`${label}: required differs`);
            compareSchemas(
              { root: ms, schema: { type: msParam.type } },
              { root: ours, schema: mine.schema },
              label,
              diffs,
            );
          }
        }
      }
      const msNames = new Set(
        ((msOp.parameters as Json[] | undefined) ?? [])
          .filter((p) => p.in !== "body" && p.in !== "formData")
          .map((p) => `${String(p.in)}:${String(p.name)}`),
      );
      for (const p of ourParams)
        if (!msNames.has(`${String(p.in)}:${String(p.name)}`))
          diffs.push(`${op}: ${String(p.in)} parameter ${String(p.name)} exists only in ours`);
      const ourResponses = (ourOp.responses ?? {}) as Json;
      for (const [status, msResponse] of Object.entries(msOp.responses as Record<string, Json>)) {
        const label = `${op}: response ${status}`;
        if (!(status in ourResponses)) {
          diffs.push(`${label}: missing in ours`);
          continue;
        }
        const mine = deref(ours, ourResponses[status]);
        const media = Object.values((mine.content ?? {}) as Record<string, Json>)[0];
        if (msResponse.schema && !media?.schema) diffs.push(`${label}: Microsoft's has a body schema, ours has none`);
        else if (msResponse.schema)
          compareSchemas(
            { root: ms, schema: msResponse.schema },
            { root: ours, schema: media!.schema },
            `${label}${schemaLabel(msResponse.schema)}`,
            diffs,
          );
      }
      for (const [status, response] of Object.entries(ourResponses)) {
        if (status in (msOp.responses as Json)) continue;
        const media = Object.values((deref(ours, response).content ?? {}) as Record<string, Json>)[0];
        // Statuses Microsoft lists only in prose: ours makes them real, with its `default` error body.
        const isError =
          /^[45]\d\d$/.test(status) &&
          isObj(media?.schema) &&
          (media!.schema as Json).$ref === "#/components/schemas/Error";
        if (!isError) diffs.push(`${op}: response ${status} exists only in ours and is not an Error response`);
      }
    }
  }
  for (const [path, item] of Object.entries(ourPaths)) {
    for (const method of METHODS)
      if (item[method] && !msPaths[path]?.[method]) diffs.push(`${method.toUpperCase()} ${path}: exists only in ours`);
  }
  return diffs;
}
