/**
 * The README's first command (`npm start`): starts the embedded ML Server dev server and walks
 * through the library's public API against it, one line per step.
 */
import { createMlServerClient, fingerprint, mlServerLogin, type MlServerTokens } from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

const TOKEN_SECONDS = 2;
const server = await startDevServer({ accessTokenSeconds: TOKEN_SECONDS });
console.log(
  `1. Dev server running at ${server.url} (access tokens live ${TOKEN_SECONDS} s here; ML Server's default is 3600 s)`,
);

try {
  let latest: MlServerTokens | null = null;
  let renewals = -1; // the first token set is the sign-in, not a renewal
  const auth = mlServerLogin({
    username: "admin",
    password: "Admin-Pa55word!",
    // Called with the complete token set after every sign-in and renewal: where an app would persist it.
    onTokens: (tokens) => {
      latest = tokens;
      if (tokens) renewals++;
    },
  });
  const client = createMlServerClient({ baseUrl: server.url, auth });

  await auth.signIn();
  console.log(
    `2. Signed in as admin: access token ${fingerprint(latest!.accessToken)} (fingerprint; tokens are never printed)`,
  );

  const status = await client.GET("/status");
  console.log(`3. GET /status → ${status.response.status}, statusCode "${status.data?.statusCode}"`);

  const published = await client.POST("/services/{name}/{version}", {
    params: { path: { name: "add-one", version: "1.0" } },
    body: {
      code: "y = x + 1",
      runtimeType: "Python",
      description: "Adds one",
      inputParameterDefinitions: [{ name: "x", type: "numeric" }],
      outputParameterDefinitions: [{ name: "y", type: "numeric" }],
    },
  });
  console.log(`4. Published add-one 1.0 → ${published.response.status}, consume at ${published.data}`);

  const listed = await client.GET("/services");
  console.log(
    `5. GET /services → ${listed.data?.map((s) => `${s.name} ${s.version} (${s.myPermissionOnService})`).join(", ")}`,
  );

  const waitMs = TOKEN_SECONDS * 1000 + 500;
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const tokenBefore = latest!.accessToken;
  const again = await client.GET("/services/{name}/{version}", {
    params: { path: { name: "add-one", version: "1.0" } },
  });
  console.log(
    `6. ${waitMs / 1000} s later the token had expired; the next call still answered ${again.response.status}: ` +
      `renewed ${renewals} time(s) behind the scenes (${fingerprint(tokenBefore)} → ` +
      `${fingerprint(latest!.accessToken)}), no error reached the caller`,
  );

  const oldToken = latest!.accessToken;
  await auth.signOut();
  console.log(
    `7. Signed out: the refresh token was revoked on the server (revokes counted: ${server.counters.revokes})`,
  );

  const replay = await fetch(`${server.url}/status`, { headers: { authorization: `Bearer ${oldToken}` } });
  console.log(`8. Replaying the old access token → HTTP ${replay.status}: the server refuses it`);

  const after = await client.GET("/status").then(
    () => "unexpectedly succeeded",
    (error: { code?: string }) => `refused before sending (${error.code})`,
  );
  console.log(`9. A call through the signed-out client is ${after}`);
} finally {
  await server.close();
}
