/**
 * What a build of the library gives every client it makes: the sender at the end of the pipeline,
 * and the layers a client has unless its options say otherwise. Each build has its own module,
 * chosen by file (`#platform` in package.json's `imports`): `platform-node.ts` for Node,
 * `platform-browser.ts` under the `browser` condition. Nothing is chosen at run time, so the
 * browser build never reaches undici, and no entry point sets anything when imported.
 */
import type { DefaultFetch } from "./default-fetch.js";
import type { TracingLayer } from "./layers.js";
import type { Policy } from "./policy.js";
import type { RetryOptions } from "./retry.js";

export interface Platform {
  /** Which build this is, for messages. */
  name: "Node" | "browser";
  /** Makes the sender at the end of a client's pipeline. */
  sender: DefaultFetch;
  /** The retry policy plain `retry` options get, when this build has retries built in. */
  retryPolicy?: (options: RetryOptions | undefined) => Policy;
  /** The tracing `tracing: true` gets, when this build has it built in. */
  tracing?: TracingLayer;
}
