/** `/sessions`: remote Python sessions, their workspace objects, files, console output and history. */
import type { SessionHost } from "../sessions.js";
import type { RouteContext, RouteTable } from "./route.js";

const session = ({ state, params, user }: RouteContext, options?: { ended: "allow" }) =>
  state.sessions.find(params.id!, user, options);

export const sessionRoutes: RouteTable = {
  async createSession({ state, body, user }) {
    const created = await state.sessions.create(
      user,
      body as { name?: string; runtimeType?: string; snapshotId?: string },
    );
    return [201, { sessionId: created.id }];
  },
  listSessions: ({ state, user }) => [200, state.sessions.list(user)],
  async closeSession(ctx) {
    await ctx.state.sessions.close(session(ctx, { ended: "allow" }), false);
    return [200, "Closed"];
  },
  async closeSessionByForce(ctx) {
    await ctx.state.sessions.close(session(ctx, { ended: "allow" }), true);
    return [200, "Closed"];
  },
  executeCode: async (ctx) => [
    200,
    await ctx.state.sessions.execute(session(ctx), ctx.body as Parameters<SessionHost["execute"]>[1]),
  ],
  getSessionConsoleOutput: (ctx) => [
    200,
    { consoleOutput: ctx.state.sessions.consoleOutput(session(ctx, { ended: "allow" })) },
  ],
  listSessionHistory: (ctx) => [200, session(ctx, { ended: "allow" }).history],
  cancelSession: (ctx) => [200, ctx.state.sessions.cancel(session(ctx))],
  listWorkspaceObjects: async (ctx) => [200, await ctx.state.sessions.objectNames(session(ctx))],
  async setWorkspaceObject(ctx) {
    await ctx.state.sessions.setObject(session(ctx), ctx.params.objectName!, ctx.raw);
    return [200];
  },
  getWorkspaceObject: async (ctx) => [200, await ctx.state.sessions.getObject(session(ctx), ctx.params.objectName!)],
  async deleteWorkspaceObject(ctx) {
    await ctx.state.sessions.deleteObject(session(ctx), ctx.params.objectName!);
    return [200];
  },
  listSessionFiles: async (ctx) => [200, await ctx.state.sessions.files(session(ctx))],
  async uploadSessionFile(ctx) {
    const file = ctx.form!.get("file") as File;
    await ctx.state.sessions.putFile(session(ctx), file.name, Buffer.from(await file.arrayBuffer()));
    return [201];
  },
  getSessionFile: async (ctx) => [200, await ctx.state.sessions.getFile(session(ctx), ctx.params.fileName!)],
  async deleteSessionFile(ctx) {
    await ctx.state.sessions.deleteFile(session(ctx), ctx.params.fileName!);
    return [200];
  },
};
