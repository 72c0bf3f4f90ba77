/**
 * Checks each request as it is actually sent (every hop, every resend), not as a middleware saw it:
 * one carrying a credential goes only to an origin the boundary allows, and a token call never
 * over plain HTTP except to loopback. A refused request is never sent, and its body is released.
 */
import type { CredentialBoundary } from "./boundary.js";
import { discardBody } from "./bodies.js";
import { assertSecureTransport } from "./origins.js";
import type { Policy } from "./policy.js";

export function credentialCheckPolicy(boundary: CredentialBoundary): Policy {
  return {
    name: "credentialCheck",
    send(exchange, next) {
      const { request } = exchange;
      try {
        if (exchange.tokenCall) assertSecureTransport(new URL(request.url), boundary.allowInsecureHttp);
        else if (boundary.carriesCredentials(request)) boundary.assertMayReceive(request.url);
      } catch (error) {
        discardBody(request);
        return Promise.reject(error);
      }
      return next(exchange);
    },
  };
}
