import { randomBytes, randomUUID } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";

/** Lifetimes of the dev server's tokens, in seconds; ML Server's defaults unless configured. */
export interface TokenLifetimes {
  /** Access tokens (ML Server: 1 hour). */
  accessTokenSeconds: number;
  /** Refresh tokens, renewed on each use (ML Server: 14 days of inactivity). */
  refreshTokenSeconds: number;
  /** How long renewals may go on after a sign-in (ML Server: 90 days). */
  maxSessionSeconds: number;
}

interface Session {
  username: string;
  accessTokenSeconds: number;
  signedInAt: number;
  refreshToken: string;
  refreshExpiresAt: number;
  /** Bumped by each renewal: access tokens of an older generation are refused (rotation). */
  generation: number;
  /**
   * When the current access token expires, to the millisecond: a JWT's `exp` is whole seconds
   * (RFC 7519 NumericDate, sent as an integer), and tokens here may live one second.
   */
  accessExpiresAt: number;
}

/** A token response as the dev server sends it (ML Server's shape). */
export interface IssuedTokens {
  token_type: "Bearer";
  access_token: string;
  expires_in: number;
  expires_on: number;
  refresh_token: string;
}

/**
 * ML Server's token semantics, as documented: sign-in issues a pair; renewal issues a new pair and
 * invalidates the old access and refresh tokens at once; revoke ends the session; renewals stop
 * after the session's maximum age. Access tokens are HS256 JWTs signed with a per-server key.
 */
export class TokenAuthority {
  readonly #key = randomBytes(32);
  readonly #sessions = new Map<string, Session>();
  readonly #byRefreshToken = new Map<string, string>();

  constructor(
    readonly lifetimes: TokenLifetimes,
    private readonly clock: () => number,
    /**
     * `per-pair` (the default): a renewal rotates only the pair it renews. `strict`: a sign-in or a
     * renewal also ends every other session of that user, the strictest reading of ML Server's
     * documentation, under which two processes signing in as one account evict each other.
     */
    readonly sessionMode: "per-pair" | "strict" = "per-pair",
  ) {}

  /** In strict mode, ends every session of `username` but `keep`. */
  #evictOthers(username: string, keep: string): void {
    if (this.sessionMode !== "strict") return;
    for (const [sid, session] of this.#sessions) if (sid !== keep && session.username === username) this.#end(sid);
  }

  /** Signs a user in; `accessTokenSeconds` overrides the server's lifetime for this user. */
  async signIn(username: string, accessTokenSeconds = this.lifetimes.accessTokenSeconds): Promise<IssuedTokens> {
    const sid = randomUUID();
    this.#sweep();
    const session: Session = {
      username,
      accessTokenSeconds,
      signedInAt: this.clock(),
      refreshToken: "",
      refreshExpiresAt: 0,
      generation: 0,
      accessExpiresAt: 0,
    };
    this.#sessions.set(sid, session);
    this.#evictOthers(username, sid);
    return this.#issue(sid, session);
  }

  /** A new pair for a current refresh token, or `undefined` if it is unknown, stale, expired or past the cap. */
  async renew(refreshToken: string): Promise<IssuedTokens | undefined> {
    const sid = this.#byRefreshToken.get(refreshToken);
    const session = sid === undefined ? undefined : this.#sessions.get(sid);
    if (!sid || !session || session.refreshToken !== refreshToken) return undefined;
    const now = this.clock();
    if (now >= session.refreshExpiresAt || now >= session.signedInAt + this.lifetimes.maxSessionSeconds * 1000) {
      this.#end(sid);
      return undefined;
    }
    session.generation++;
    this.#evictOthers(session.username, sid);
    return this.#issue(sid, session);
  }

  /** Ends the session a refresh token belongs to; false if the token is not current. */
  revoke(refreshToken: string): boolean {
    const sid = this.#byRefreshToken.get(refreshToken);
    if (!sid) return false;
    this.#end(sid);
    return true;
  }

  /** The user an access token belongs to, if it is valid, unexpired and of its session's current generation. */
  async verify(accessToken: string): Promise<string | undefined> {
    try {
      const { payload } = await jwtVerify(accessToken, this.#key, {
        algorithms: ["HS256"],
        currentDate: new Date(this.clock()),
      });
      const session = this.#sessions.get(String(payload.sid));
      if (!session) return this.#refuse("sessionEnded");
      if (session.generation !== payload.gen) return this.#refuse("rotated");
      // jose compares whole seconds; the session knows the current token's expiry to the millisecond.
      if (session.accessExpiresAt <= this.clock()) return this.#refuse("expired");
      return session.username;
    } catch (error) {
      return this.#refuse((error as { code?: string }).code === "ERR_JWT_EXPIRED" ? "expired" : "invalid");
    }
  }

  /**
   * Why access tokens were refused, for tests and benchmarks: expired, rotated by a renewal, of an ended session, or
   * not ours.
   */
  readonly refusals = { expired: 0, rotated: 0, sessionEnded: 0, invalid: 0 };

  #refuse(reason: keyof TokenAuthority["refusals"]): undefined {
    this.refusals[reason]++;
    return undefined;
  }

  /** Sessions alive now (signed in, not revoked, not expired). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  #lastSweep = 0;

  /**
   * Ends sessions whose refresh token or maximum age has run out, at most once a second, so that
   * sign-ins that are never revoked cannot grow memory without bound.
   */
  #sweep(): void {
    const now = this.clock();
    if (now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    const cap = this.lifetimes.maxSessionSeconds * 1000;
    for (const [sid, session] of this.#sessions) {
      if (session.refreshToken && (now >= session.refreshExpiresAt || now >= session.signedInAt + cap)) this.#end(sid);
    }
  }

  #end(sid: string): void {
    const session = this.#sessions.get(sid);
    if (session) this.#byRefreshToken.delete(session.refreshToken);
    this.#sessions.delete(sid);
  }

  async #issue(sid: string, session: Session): Promise<IssuedTokens> {
    const now = this.clock();
    const expiresAtMs = now + session.accessTokenSeconds * 1000;
    const accessToken = await new SignJWT({ sid, gen: session.generation })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(session.username)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.ceil(expiresAtMs / 1000))
      .setJti(randomUUID())
      .sign(this.#key);
    session.accessExpiresAt = expiresAtMs;
    this.#byRefreshToken.delete(session.refreshToken);
    session.refreshToken = randomBytes(24).toString("base64url");
    session.refreshExpiresAt = now + this.lifetimes.refreshTokenSeconds * 1000;
    this.#byRefreshToken.set(session.refreshToken, sid);
    return {
      token_type: "Bearer",
      access_token: accessToken,
      expires_in: session.accessTokenSeconds,
      expires_on: Math.floor(expiresAtMs / 1000),
      refresh_token: session.refreshToken,
    };
  }
}
