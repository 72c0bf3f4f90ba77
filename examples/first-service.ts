/**
 * A newcomer's first program, on the embedded dev server: `npm run example:first`.
 * Sign in, publish a Python service, call it with typed inputs and outputs, then meet the two
 * failures everyone meets first: a wrong password and a service that is not there.
 */
import {
  createMlServerClient,
  createServiceClient,
  deleteService,
  mlServerLogin,
  MlServerClientError,
  publishService,
} from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

/** What `mlserver generate --service double@1.0` writes, in short. */
type Double = { schemas: { InputParameters: { x: number }; OutputParameters: { y: number } } };

const server = await startDevServer();
try {
  const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!" });
  const client = createMlServerClient({ baseUrl: server.url, auth });

  await publishService(client, {
    name: "double",
    version: "1.0",
    code: "y = x * 2",
    inputs: { x: "numeric" },
    outputs: { y: "numeric" },
  });
  const double = createServiceClient<Double>(client, { name: "double", version: "1.0" });
  const { outputs } = await double.consume({ x: 21 });
  console.log(`1. Published double 1.0 and called it: x 21 → y ${outputs.y}`);

  const wrong = createMlServerClient({
    baseUrl: server.url,
    auth: mlServerLogin({ username: "admin", password: "not-it" }),
  });
  const refused = await wrong.GET("/status").catch((error: MlServerClientError) => error);
  console.log(`2. A wrong password: ${(refused as MlServerClientError).code}`);

  const missing = createServiceClient<Double>(client, { name: "triple", version: "1.0" });
  const absent = await missing.consume({ x: 1 }).catch((error: MlServerClientError) => error);
  console.log(
    `3. A service that is not there: ${(absent as MlServerClientError).code}, ` +
      `${(absent as Error).message.split(":")[0]}`,
  );

  await deleteService(client, { name: "double", version: "1.0" });
  await auth.signOut();
  console.log("4. Deleted the service, signed out");
} finally {
  await server.close();
}
