/**
 * Who a request comes from: its bearer token, checked against the dev server's own tokens and,
 * when configured, Azure AD's. The header is read as ASP.NET Core's bearer handler reads it: the
 * scheme case-insensitive, the token trimmed (swagger-codegen's JavaScript client sends
 * `Bearer  <token>` with two spaces).
 */
import type { IncomingMessage } from "node:http";
import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import type { DevState } from "../state.js";

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return m?.[1];
}

const jwksByState = new WeakMap<DevState, Promise<ReturnType<typeof createRemoteJWKSet>>>();

/** The caller of an Azure AD token, when AAD is configured and the token is valid for it. */
async function verifyAzureAd(state: DevState, token: string): Promise<string | undefined> {
  const aad = state.options.azureActiveDirectory;
  if (!aad) return undefined;
  let jwks = jwksByState.get(state);
  if (!jwks) {
    jwks = import("../../src/http/dispatcher.js").then(({ fetchTrusting }) => {
      const trusted = aad.ca ? fetchTrusting(aad.ca) : globalThis.fetch;
      return createRemoteJWKSet(new URL(aad.jwksUri), {
        [customFetch]: (url: string, init: RequestInit) => trusted(new Request(url, init)),
      });
    });
    jwksByState.set(state, jwks);
  }
  try {
    const { payload } = await jwtVerify(token, await jwks, {
      issuer: aad.issuer,
      audience: aad.audience,
      currentDate: new Date(state.clock()),
    });
    state.server.counters.azureAdCalls++;
    return String(payload.preferred_username ?? payload.sub ?? payload.client_id);
  } catch {
    return undefined;
  }
}

/** The user a request's bearer token belongs to, if it is valid. */
export async function caller(state: DevState, req: IncomingMessage): Promise<string | undefined> {
  const token = bearerToken(req.headers.authorization);
  return token ? ((await state.authority.verify(token)) ?? (await verifyAzureAd(state, token))) : undefined;
}
