/**
 * The default fetch on Node: undici's dispatcher API (keep-alive pools, streamed bodies, the
 * client's `ca`, `proxy` and `maxConnections`), or the application's own fetch given those options.
 */
import type { SenderFactory } from "./platform.js";
import { fetchWith } from "./dispatcher.js";
import { senderOf } from "./network.js";
import { undiciFetch } from "./undici-fetch.js";

export const nodeFetch: SenderFactory = ({ ca, proxy, maxConnections }, applicationFetch) =>
  applicationFetch === undefined
    ? undiciFetch({
        ...(ca !== undefined && { ca }),
        ...(proxy && { proxy }),
        ...(maxConnections !== undefined && { maxConnections }),
      })
    : senderOf(ca === undefined && proxy === undefined ? applicationFetch : fetchWith({ ca, proxy }, applicationFetch));
