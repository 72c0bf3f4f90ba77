/**
 * What a build of the library gives every client it makes: the sender at the end of the pipeline,
 * and the layers a client has unless its options say otherwise. Each build has its own module,
 * chosen by file (`#platform` in package.json's `imports`): `platform-node.ts` for Node,
 * `platform-browser.ts` under the `browser` condition. Nothing is chosen at run time, so the
 * browser build never reaches undici, and no entry point sets anything when imported.
 */
import type { FetchLike } from "../core/fetch.js";
import type { TransportOptions } from "./dispatcher.js";
import type { TracingLayer } from "./layers.js";
import type { Sender } from "./network.js";
import type { Policy } from "./policy.js";
import type { RetryOptions } from "./retry.js";

/** Makes the sender at the end of a client's pipeline from its options and the application's fetch, if any. */
export type SenderFactory = (options: TransportOptions, applicationFetch: FetchLike | undefined) => Sender;

export interface Platform {
  /** Makes the sender at the end of a client's pipeline. */
  sender: SenderFactory;
  /** The retry policy plain `retry` options get, when this build has retries built in. */
  retryPolicy?: (options: RetryOptions | undefined) => Policy;
  /** The tracing `tracing: true` gets, when this build has it built in. */
  tracing?: TracingLayer;
}
