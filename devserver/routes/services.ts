/**
 * Web services: list, get, publish (from code or a snapshot), update, delete, realtime models,
 * and each service's own swagger. A change to a service retires its warm shells.
 */
import { createHash, randomUUID } from "node:crypto";
import { checkRunnable, retirePool } from "../execution.js";
import { HttpError } from "../http-error.js";
import { serviceSwagger } from "../service-swagger.js";
import { existingService, ownedService, serviceKey, type DevState } from "../state.js";
import type { WebService } from "../types.js";
import type { RouteAnswer, RouteContext, RouteTable } from "./route.js";

const PUBLISH_FIELDS = [
  "snapshotId",
  "code",
  "description",
  "operationId",
  "inputParameterDefinitions",
  "outputParameterDefinitions",
  "runtimeType",
  "initCode",
  "outputFileNames",
];

function view(service: WebService, user: string): WebService {
  return { ...service, myPermissionOnService: service.versionPublishedBy === user ? "read/write" : "read only" };
}

/** A service published from a snapshot keeps its archive; the snapshot must hold the service's runtime. */
function keepSnapshot(state: DevState, service: WebService, body: Record<string, unknown>, user: string): void {
  if (typeof body.snapshotId !== "string") return;
  const snapshot = state.sessions.snapshot(body.snapshotId, user);
  const runtimeType = body.runtimeType ?? service.runtimeType;
  if (snapshot.runtimeType !== runtimeType)
    throw new HttpError(
      400,
      `snapshot ${snapshot.id} holds a ${snapshot.runtimeType} workspace, and this service's runtime is ` +
        `${String(runtimeType)}`,
      "RequestValidationException",
    );
  state.serviceSnapshots.set(service, snapshot.archive);
}

async function publish(
  state: DevState,
  name: string,
  version: string,
  body: Record<string, unknown>,
  user: string,
  base: string,
): Promise<RouteAnswer> {
  const others = [...state.services.values()].find((s) => s.name === name && s.versionPublishedBy !== user);
  if (others)
    throw new HttpError(403, `another user owns the web service ${name}; you are not authorized to publish to it`);
  if (state.services.has(serviceKey(name, version)))
    throw new HttpError(409, `a web service ${name} with version ${version} already exists; use PATCH to update it`);
  await checkRunnable(state, body);
  const service: WebService = {
    name,
    version,
    versionPublishedBy: user,
    creationTime: new Date(state.clock()).toISOString(),
    runtimeType: (body.runtimeType as string | undefined) ?? "R",
    code: body.code as string,
  };
  keepSnapshot(state, service, body, user);
  for (const field of PUBLISH_FIELDS) if (body[field] !== undefined) service[field] = body[field];
  // Checked again after the wait for Python: another publish of the same version may have won.
  if (state.services.has(serviceKey(name, version)))
    throw new HttpError(409, `a web service ${name} with version ${version} already exists; use PATCH to update it`);
  state.services.set(serviceKey(name, version), service);
  return [201, `${base}/api/${encodeURIComponent(name)}/${encodeURIComponent(version)}`];
}

/** A text field of a form; clients that send every field as a file part get its text. */
async function formText(form: FormData, name: string): Promise<string | undefined> {
  const value = form.get(name);
  if (value === null) return undefined;
  return typeof value === "string" ? value : await value.text();
}

async function realtimeFields(form: FormData): Promise<Record<string, unknown>> {
  const model = form.get("model");
  const bytes =
    model === null
      ? undefined
      : typeof model === "string"
        ? Buffer.from(model)
        : Buffer.from(await model.arrayBuffer());
  const description = await formText(form, "description");
  const operationId = await formText(form, "operationId");
  return {
    ...(description !== undefined && { description }),
    ...(operationId !== undefined && { operationId }),
    ...(bytes && { modelBytes: bytes.length, modelSha256: createHash("sha256").update(bytes).digest("hex") }),
  };
}

async function publishRealtime(
  name: string,
  version: string,
  { state, form, user, base }: RouteContext,
): Promise<RouteAnswer> {
  const fields = await realtimeFields(form!);
  const answer = await publish(state, name, version, { code: "", runtimeType: "Realtime" }, user, base);
  Object.assign(state.services.get(serviceKey(name, version))!, { runtimeType: "Realtime", ...fields });
  return answer;
}

export const serviceRoutes: RouteTable = {
  GetWebServiceSwagger: ({ state, params }) => [
    200,
    serviceSwagger(existingService(state, params) as Parameters<typeof serviceSwagger>[0], {
      revoke: state.options.legacyRevokePath ? "path" : "query",
    }),
  ],
  getAllWebServices: ({ state, user }) => [200, [...state.services.values()].map((s) => view(s, user))],
  getAllWebServiceVersionsByName: ({ state, params, user }) => [
    200,
    [...state.services.values()].filter((s) => s.name === params.name).map((s) => view(s, user)),
  ],
  getWebServiceVersion: ({ state, params, user }) => [200, [view(existingService(state, params), user)]],
  publishWebService: ({ state, params, body, user, base }) =>
    publish(state, params.name!, randomUUID(), body, user, base),
  publishWebServiceVersion: ({ state, params, body, user, base }) =>
    publish(state, params.name!, params.version!, body, user, base),
  async patchWebServiceVersion({ state, params, body, user }) {
    const service = ownedService(state, params, user, "update");
    await checkRunnable(state, {
      runtimeType: service.runtimeType,
      inputParameterDefinitions: body.inputParameterDefinitions ?? service.inputParameterDefinitions,
      outputParameterDefinitions: body.outputParameterDefinitions ?? service.outputParameterDefinitions,
      ...(body.runtimeType !== undefined && { runtimeType: body.runtimeType }),
    });
    keepSnapshot(state, service, body, user);
    for (const field of PUBLISH_FIELDS) if (body[field] !== undefined) service[field] = body[field];
    retirePool(state, service);
    return [200, "Updated"];
  },
  deleteWebServiceVersion({ state, params, user }) {
    const service = ownedService(state, params, user, "delete");
    state.services.delete(serviceKey(service.name, service.version));
    state.poolSizes.delete(serviceKey(service.name, service.version));
    retirePool(state, service);
    return [200];
  },
  publishRealtimeWebServiceByName: (ctx) => publishRealtime(ctx.params.name!, randomUUID(), ctx),
  publishRealtimeWebServiceByNameVersion: (ctx) => publishRealtime(ctx.params.name!, ctx.params.version!, ctx),
  async patchRealtimeWebServiceByNameVersion({ state, params, form, user }) {
    const service = ownedService(state, params, user, "update");
    if (service.runtimeType !== "Realtime")
      throw new HttpError(
        400,
        `${service.name}/${service.version} is not a realtime service; change it with PATCH /services/{name}/{version}`,
      );
    Object.assign(service, await realtimeFields(form!));
    return [200, "Updated"];
  },
};
