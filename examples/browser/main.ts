/**
 * A single-page app that talks to ML Server directly, as ML Server's CORS settings allow: sign in
 * with `mlServerLogin`, list the web services, consume one, sign out (which revokes the refresh
 * token). Tokens stay in this page's memory, or, if the user ticks the box, in this tab's
 * sessionStorage so that a reload keeps the session (never localStorage: see the README). Build
 * and serve it with Vite:
 * `npx vite examples/browser` (the server address comes from `?api=`, default the dev server on
 * 12800, started with `npx mlserver devserver --cors-origin http://localhost:5173`).
 */
import {
  createMlServerClient,
  createServiceClient,
  MlServerClientError,
  mlServerLogin,
  sessionStorageTokenStore,
  type MlServerClient,
  type MlServerLoginProvider,
} from "mlserver-client";

const api = new URLSearchParams(location.search).get("api") ?? "http://127.0.0.1:12800";
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
$("#server").textContent = api;

let session: { auth: MlServerLoginProvider; client: MlServerClient } | undefined;

function show(error: unknown): void {
  $("#error").textContent = error instanceof MlServerClientError ? `${error.code}: ${error.message}` : String(error);
}

async function listServices(client: MlServerClient): Promise<void> {
  const { data, error, response } = await client.GET("/services");
  if (!response.ok) throw new Error(`GET /services answered ${response.status}: ${JSON.stringify(error)}`);
  $("#services").replaceChildren(
    ...data!.map((s) =>
      Object.assign(document.createElement("li"), { textContent: `${s.name} ${s.version} (${s.runtimeType})` }),
    ),
  );
  $<HTMLSelectElement>("#consume select").replaceChildren(
    ...data!.map((s) => new Option(`${s.name} ${s.version}`, JSON.stringify([s.name, s.version]))),
  );
}

/** Signs in (or picks up the tab's stored session), then shows the services. */
async function start(username: string, password: string | undefined, remember: boolean): Promise<void> {
  const auth = mlServerLogin({
    username,
    // Asked only when no stored session can be used or renewed.
    credentials: async () => {
      if (password === undefined) throw new Error("The tab's stored session has ended: sign in again.");
      return { username, password };
    },
    ...(remember && { store: sessionStorageTokenStore() }),
  });
  const client = createMlServerClient({ baseUrl: api, auth });
  await listServices(client);
  session = { auth, client };
  // For the browser test, and for trying calls from the devtools console.
  Object.assign(globalThis, { demo: session });
  if (remember) sessionStorage.setItem("demo:username", username);
  $("#status").textContent = `Signed in as ${username}`;
  $("#sign-in").hidden = true;
  $("#signed-in").hidden = false;
}

$("#sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  $("#error").textContent = "";
  const form = new FormData(event.target as HTMLFormElement);
  start(String(form.get("username")), String(form.get("password")), form.get("remember") === "on").catch(show);
});

// A reload in a tab that chose to stay signed in: the stored tokens are used, no sign-in is made.
const remembered = sessionStorage.getItem("demo:username");
if (remembered) start(remembered, undefined, true).catch(show);

$("#consume").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#error").textContent = "";
  const form = new FormData(event.target as HTMLFormElement);
  const [name, version] = JSON.parse(String(form.get("service"))) as [string, string];
  try {
    const service = createServiceClient<{
      schemas: { InputParameters: Record<string, unknown>; OutputParameters: Record<string, unknown> };
    }>({ baseUrl: api, auth: session!.auth, name, version });
    const result = await service.consume(JSON.parse(String(form.get("inputs"))) as Record<string, unknown>);
    $("#result").textContent = JSON.stringify(result.outputs, null, 2);
  } catch (error) {
    show(error);
  }
});

$("#sign-out").addEventListener("click", async () => {
  try {
    await session!.auth.signOut(); // revokes, and deletes the stored entry
    session = undefined;
    sessionStorage.removeItem("demo:username");
    $("#status").textContent = "Signed out: the refresh token was revoked on the server";
    $("#signed-in").hidden = true;
    $("#sign-in").hidden = false;
  } catch (error) {
    show(error);
  }
});
