/** Snapshots: taken from a session, loaded into one, listed, downloaded, deleted. */
import type { RouteTable } from "./route.js";

export const snapshotRoutes: RouteTable = {
  CreateSnapshot: async ({ state, params, body, user }) => [
    201,
    {
      snapshotId: await state.sessions.takeSnapshot(
        state.sessions.find(params.id!, user),
        body.name as string | undefined,
      ),
    },
  ],
  async LoadSnapshot({ state, params, user }) {
    await state.sessions.loadSnapshot(state.sessions.find(params.id!, user), params.snapshotId!);
    return [200];
  },
  ListSnapshots: ({ state, user }) => [200, state.sessions.listSnapshots(user)],
  GetSnapshotContent: ({ state, params, user }) => [200, state.sessions.snapshot(params.id!, user).archive],
  DeleteSnapshot({ state, params, user }) {
    state.sessions.deleteSnapshot(params.id!, user);
    return [200, "Deleted"];
  },
};
