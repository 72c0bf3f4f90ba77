import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_LIFETIME_MS, parseTokenResponse } from "../../src/auth/token-set.js";
import { TokenResponseError } from "../../src/core/errors.js";

const now = 1_700_000_000_000;
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

describe("parseTokenResponse", () => {
  it("takes expiry from expires_in first", () => {
    expect(parseTokenResponse({ access_token: "a", expires_in: 3600, expires_on: 1 }, now).expiresAt).toBe(
      now + 3_600_000,
    );
    expect(parseTokenResponse({ access_token: "a", expires_in: "60" }, now).expiresAt).toBe(now + 60_000);
  });
  it("then expires_on, as a number or a numeric string (epoch seconds)", () => {
    expect(parseTokenResponse({ access_token: "a", expires_on: 1_700_000_100 }, now).expiresAt).toBe(1_700_000_100_000);
    expect(parseTokenResponse({ access_token: "a", expires_on: "1700000100" }, now).expiresAt).toBe(1_700_000_100_000);
  });
  it("then the JWT exp claim, then the documented default", () => {
    expect(parseTokenResponse({ access_token: jwt({ exp: 1_700_000_200 }) }, now).expiresAt).toBe(1_700_000_200_000);
    expect(parseTokenResponse({ access_token: "opaque" }, now).expiresAt).toBe(now + DEFAULT_TOKEN_LIFETIME_MS);
  });
  it("keeps the refresh token and normalizes the type", () => {
    expect(
      parseTokenResponse({ access_token: "a", token_type: "bearer", refresh_token: "r", expires_in: 1 }, now),
    ).toEqual({
      accessToken: "a",
      tokenType: "Bearer",
      refreshToken: "r",
      expiresAt: now + 1000,
    });
  });
  it.each([
    ["a string", "not an object", /not a JSON object \(got a string\)/],
    ["an array", [], /not a JSON object \(got an array\)/],
    ["null", null, /got null/],
    ["no access_token", { token_type: "Bearer" }, /no access_token/],
    ["an empty access_token", { access_token: "" }, /no access_token/],
    ["a numeric access_token", { access_token: 42 }, /no access_token/],
    ["a MAC token", { access_token: "a", token_type: "mac" }, /token_type is "mac"; only Bearer/],
    ["an empty refresh_token", { access_token: "a", refresh_token: "" }, /refresh_token is empty/],
    ["a negative expires_in", { access_token: "a", expires_in: -5 }, /expires_in is not a non-negative number/],
    ["a textual expires_in", { access_token: "a", expires_in: "soon" }, /expires_in is not a non-negative number/],
    ["an infinite expires_in", { access_token: "a", expires_in: Infinity }, /expires_in/],
    ["a huge expires_in", { access_token: "a", expires_in: 1e12 }, /implausibly long/],
    ["an object expires_on", { access_token: "a", expires_on: {} }, /expires_on/],
  ])("refuses %s with a typed error that does not quote the body", (_name, body, message) => {
    const error = (() => {
      try {
        parseTokenResponse(body, now);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TokenResponseError);
    expect((error as TokenResponseError).code).toBe("ERR_TOKEN_RESPONSE_INVALID");
    expect((error as Error).message).toMatch(message);
  });
  it("never echoes a secret-looking value in its messages", () => {
    const secret = "sk_live_0123456789abcdefghijklmnop";
    for (const body of [
      { access_token: secret, token_type: secret },
      { access_token: secret, expires_in: secret },
      { access_token: secret, refresh_token: 7 },
    ]) {
      expect(() => parseTokenResponse(body, now)).toThrow(TokenResponseError);
      try {
        parseTokenResponse(body, now);
      } catch (e) {
        // Not even a prefix: a partial secret is still a leak.
        expect((e as Error).message).not.toContain(secret.slice(0, 8));
      }
    }
  });
});
