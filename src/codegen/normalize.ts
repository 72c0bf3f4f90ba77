import { SpecError } from "./errors.js";
import type { LoadedSpec } from "./load.js";
import { toolchain } from "./toolchain.js";

/** An OpenAPI 3.x document as the generator sees it (only the parts it reads are typed). */
export interface OpenApiDocument {
  openapi: string;
  info?: { title?: string; version?: string };
  paths?: Record<string, Record<string, unknown>>;
  security?: SecurityRequirement[];
  components?: { securitySchemes?: Record<string, unknown> } & Record<string, unknown>;
  [key: string]: unknown;
}

/** One alternative of a security requirement: every scheme named must be satisfied, with these scopes. */
export type SecurityRequirement = Record<string, string[]>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Turns any supported spec into OpenAPI 3.x: Swagger 2.0 is converted in memory with
 * swagger2openapi (loaded only when needed); 3.0 and 3.1 pass as they are. Every local `$ref` must
 * resolve, so that a broken reference is reported with its line rather than deep inside the
 * type generator.
 */
export async function toOpenApi3(spec: LoadedSpec): Promise<OpenApiDocument> {
  const { document, location } = spec;
  if (!isObject(document) || (!("swagger" in document) && !("openapi" in document))) {
    throw new SpecError(
      "ERR_SPEC_NOT_OPENAPI",
      { file: location },
      "is not an OpenAPI or Swagger document: it has no top-level `openapi` or `swagger` field.",
    );
  }
  let result: OpenApiDocument;
  if ("swagger" in document) {
    if (String(document.swagger) !== "2.0") {
      throw new SpecError(
        "ERR_SPEC_VERSION",
        { file: location, ...spec.positionOf("/swagger") },
        `declares swagger ${JSON.stringify(document.swagger)}; supported versions are Swagger 2.0 and OpenAPI ` +
          `3.0 and 3.1.`,
      );
    }
    checkRefs(spec);
    result = await convertSwagger2(document, location);
  } else {
    const version = String(document.openapi);
    if (!/^3\.[01]\.\d+$/.test(version)) {
      throw new SpecError(
        "ERR_SPEC_VERSION",
        { file: location, ...spec.positionOf("/openapi") },
        `declares openapi ${JSON.stringify(document.openapi)}; supported versions are Swagger 2.0 and OpenAPI ` +
          `3.0 and 3.1.`,
      );
    }
    checkRefs(spec);
    result = document as OpenApiDocument;
  }
  if (!isObject(result.paths)) {
    throw new SpecError(
      "ERR_SPEC_NOT_OPENAPI",
      { file: location },
      "has no `paths` object, so there is nothing to generate.",
    );
  }
  return result;
}

async function convertSwagger2(document: Record<string, unknown>, location: string): Promise<OpenApiDocument> {
  const { swagger2openapi } = await toolchain();
  try {
    // structuredClone: the converter mutates its input, and the caller's document must stay as read.
    const converted = await swagger2openapi.convertObj(structuredClone(document), {
      patch: true,
      warnOnly: true,
      resolve: false,
    });
    return converted.openapi as OpenApiDocument;
  } catch (cause) {
    throw new SpecError(
      "ERR_SPEC_CONVERT",
      { file: location },
      `could not be converted from Swagger 2.0: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** Every `#/...` reference must point at something; external references are left to the generator. */
function checkRefs(spec: LoadedSpec): void {
  const root = spec.document;
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${pointer}/${i}`));
      return;
    }
    if (!isObject(node)) return;
    const ref = node.$ref;
    if (typeof ref === "string" && ref.startsWith("#") && resolvePointer(root, ref) === undefined) {
      throw new SpecError(
        "ERR_SPEC_REF",
        { file: spec.location, ...spec.positionOf(`${pointer}/$ref`) },
        `the reference ${JSON.stringify(ref)} at ${pointer || "/"} does not resolve: nothing exists at that path.`,
      );
    }
    for (const [key, value] of Object.entries(node))
      visit(value, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`);
  };
  visit(root, "");
}

function resolvePointer(root: unknown, ref: string): unknown {
  const parts = ref
    .slice(1)
    .split("/")
    .filter((p, i) => i > 0 || p !== "");
  let node: unknown = root;
  for (const raw of parts) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node) && Object.hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

/**
 * Whether `document` is the swagger ML Server serves for one published web service: its
 * `InputParameters`, `OutputParameters` and `WebServiceResult` schemas, and its consume path
 * `/api/{name}/{version}`.
 */
export function isMlServerServiceSpec(document: OpenApiDocument): boolean {
  const schemas = document.components?.schemas;
  if (
    !isObject(schemas) ||
    !["InputParameters", "OutputParameters", "WebServiceResult"].every((name) => isObject(schemas[name]))
  )
    return false;
  return Object.keys(document.paths ?? {}).some((path) => /^\/api\/[^/{}]+\/[^/{}]+$/.test(path));
}

/**
 * ML Server declares no `required` in a service's swagger, yet it runs the code with every
 * declared input and returns every declared output of a run that succeeded (a failed one is an
 * error): marks them so, in a copy, so that `consume({})` does not compile and outputs need no `!`.
 */
export function markServiceParametersRequired(document: OpenApiDocument): OpenApiDocument {
  const schemas = { ...(document.components!.schemas as Record<string, Record<string, unknown>>) };
  for (const name of ["InputParameters", "OutputParameters"]) {
    const schema = schemas[name]!;
    const properties = isObject(schema.properties) ? Object.keys(schema.properties) : [];
    if (properties.length > 0) schemas[name] = { ...schema, required: properties };
  }
  return { ...document, components: { ...document.components, schemas } };
}
