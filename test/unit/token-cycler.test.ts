import { describe, expect, it } from "vitest";
import { TokenCycler } from "../../src/auth/token-cycler.js";
import type { TokenSet } from "../../src/auth/token-set.js";
import { AuthenticationError, TokenEndpointError } from "../../src/core/errors.js";

const flush = () => new Promise((r) => setImmediate(r));

/** A hand-driven clock and a token source whose answers the test releases one by one. */
function harness(options: { rotating: boolean; lifetimeMs?: number; maxAttempts?: number }) {
  let now = 1_000_000;
  let issued = 0;
  const pending: { resolve: (t: TokenSet) => void; reject: (e: unknown) => void; previous: TokenSet | undefined }[] =
    [];
  const sleeps: number[] = [];
  const changes: (TokenSet | undefined)[] = [];
  const cycler = new TokenCycler<TokenSet>({
    rotating: options.rotating,
    clock: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    onChange: (t) => changes.push(t),
    acquire: (previous) => new Promise((resolve, reject) => pending.push({ resolve, reject, previous })),
  });
  const lifetime = options.lifetimeMs ?? 3_600_000;
  return {
    cycler,
    pending,
    sleeps,
    changes,
    advance: (ms: number) => (now += ms),
    /** Answers the oldest token request with a fresh token. */
    issue(): TokenSet {
      const token = {
        accessToken: `token-${++issued}`,
        tokenType: "Bearer",
        expiresAt: now + lifetime,
        refreshToken: `refresh-${issued}`,
      };
      pending.shift()!.resolve(token);
      return token;
    },
    fail(error: unknown) {
      pending.shift()!.reject(error);
    },
    /** Gets the first token through the cycler and returns it. */
    async signedIn(): Promise<TokenSet> {
      const call = cycler.getToken();
      await flush();
      const token = this.issue();
      await call;
      return token;
    },
  };
}

describe("TokenCycler", () => {
  it("makes one token request for any number of concurrent first callers", async () => {
    const h = harness({ rotating: true });
    const calls = Array.from({ length: 200 }, () => h.cycler.getToken());
    await flush();
    expect(h.pending).toHaveLength(1);
    const token = h.issue();
    expect(await Promise.all(calls)).toEqual(Array(200).fill(token));
    expect(h.cycler.acquisitions).toBe(1);
  });

  it("serves a fresh token without asking again", async () => {
    const h = harness({ rotating: true });
    await h.signedIn();
    h.advance(54 * 60_000);
    await h.cycler.getToken();
    expect(h.cycler.acquisitions).toBe(1);
  });

  it(
    "rotating: inside the refresh window callers wait for the one renewal, which receives the " + "previous set",
    async () => {
      const h = harness({ rotating: true });
      const old = await h.signedIn();
      h.advance(56 * 60_000); // within the 5-minute window of a 1-hour token
      const waiting = Array.from({ length: 50 }, () => h.cycler.getToken());
      await flush();
      expect(h.pending).toHaveLength(1);
      expect(h.pending[0]!.previous).toBe(old);
      const renewed = h.issue();
      expect(new Set(await Promise.all(waiting))).toEqual(new Set([renewed]));
    },
  );

  it("non-rotating: inside the window callers keep the old token while one background renewal runs", async () => {
    const h = harness({ rotating: false });
    const old = await h.signedIn();
    h.advance(56 * 60_000);
    const during = await Promise.all(Array.from({ length: 50 }, () => h.cycler.getToken()));
    expect(new Set(during)).toEqual(new Set([old]));
    expect(h.pending).toHaveLength(1);
    // Past the margin (30 s before expiry) the old token is not sent any more: callers wait.
    h.advance(3.6 * 60_000);
    const late = h.cycler.getToken();
    await flush();
    const renewed = h.issue();
    expect(await late).toBe(renewed);
    expect(h.cycler.acquisitions).toBe(2);
  });

  it("scales the window to short lifetimes: a 1-second token is renewed after 0.9 s, not at once", async () => {
    const h = harness({ rotating: true, lifetimeMs: 1000 });
    const token = await h.signedIn();
    h.advance(850);
    expect(await h.cycler.getToken()).toBe(token);
    h.advance(60);
    const next = h.cycler.getToken();
    await flush();
    expect(h.pending).toHaveLength(1);
    h.issue();
    await next;
  });

  it(
    "grows the expiry margin with slow token round trips, so a token is not sent when it may lapse in " + "transit",
    async () => {
      const h = harness({ rotating: true, lifetimeMs: 1000 });
      const call = h.cycler.getToken();
      await flush();
      h.advance(100); // the token request took 100 ms: requests now take about that long to arrive
      const token = h.issue();
      await call;
      // A fixed margin (a twentieth: 50 ms) would still send this token at 810 ms; twice the round
      // trip (200 ms) says it may lapse before it arrives, so callers wait for the renewal instead.
      h.advance(650);
      expect(await h.cycler.getToken()).toBe(token);
      h.advance(160);
      const next = h.cycler.getToken();
      await flush();
      expect(h.pending).toHaveLength(1);
      expect(await Promise.race([next.then(() => "served"), flush().then(() => "waiting")])).toBe("waiting");
      const renewed = h.issue();
      expect(await next).toBe(renewed);
    },
  );

  it(
    "caps the grown margin at a quarter of the lifetime: a very slow round trip does not make a token " + "useless",
    async () => {
      const h = harness({ rotating: true, lifetimeMs: 1000 });
      const call = h.cycler.getToken();
      await flush();
      h.advance(2000);
      const token = h.issue();
      await call;
      h.advance(700);
      expect(await h.cycler.getToken()).toBe(token);
    },
  );

  it("shares a failure with every waiting caller, then the next caller tries again", async () => {
    const h = harness({ rotating: true });
    const waiting = Array.from({ length: 10 }, () => h.cycler.getToken());
    await flush();
    const refused = new AuthenticationError("refused", { status: 401 });
    h.fail(refused);
    const results = await Promise.allSettled(waiting);
    expect(results.every((r) => r.status === "rejected" && r.reason === refused)).toBe(true);
    expect(h.sleeps).toEqual([]); // a 4xx is never retried
    const again = h.cycler.getToken();
    await flush();
    expect(h.pending).toHaveLength(1);
    h.issue();
    await again;
    expect(h.cycler.acquisitions).toBe(2);
  });

  it("retries network errors and 5xx with growing backoff, a bounded number of times", async () => {
    const h = harness({ rotating: true, maxAttempts: 3 });
    const call = h.cycler.getToken();
    for (let i = 0; i < 3; i++) {
      await flush();
      h.fail(new TokenEndpointError("503", { status: 503, retryable: true }));
    }
    await expect(call).rejects.toMatchObject({ code: "ERR_TOKEN_ENDPOINT_UNAVAILABLE", status: 503 });
    expect(h.sleeps).toHaveLength(2);
    expect(h.sleeps[1]!).toBeGreaterThan(h.sleeps[0]! * 0.9 * 0.5);
    expect(h.sleeps.every((ms) => ms >= 100 && ms <= 400)).toBe(true);
  });

  it("a failed renewal leaves a still-valid token in use (the server never rotated it)", async () => {
    const h = harness({ rotating: true });
    const old = await h.signedIn();
    h.advance(56 * 60_000);
    const waiting = h.cycler.getToken();
    await flush();
    h.fail(new TokenEndpointError("down", { retryable: false }));
    expect(await waiting).toBe(old);
    // Within the cool-down no new renewal is started on every call.
    expect(await h.cycler.getToken()).toBe(old);
    expect(h.pending).toHaveLength(0);
  });

  it("an aborted caller stops waiting; the renewal and the other callers carry on", async () => {
    const h = harness({ rotating: true });
    const controller = new AbortController();
    const impatient = h.cycler.getToken(controller.signal);
    const patient = h.cycler.getToken();
    await flush();
    controller.abort();
    await expect(impatient).rejects.toMatchObject({ name: "AbortError" });
    const token = h.issue();
    expect(await patient).toBe(token);
    expect(h.cycler.acquisitions).toBe(1);
    await expect(h.cycler.getToken(AbortSignal.abort())).rejects.toMatchObject({ name: "AbortError" });
  });

  it("a 401 on a superseded token needs no renewal; on the current token it forces one", async () => {
    const h = harness({ rotating: true });
    const one = await h.signedIn();
    h.advance(56 * 60_000);
    const second = h.cycler.getToken();
    await flush();
    const two = h.issue();
    await second;
    expect(h.cycler.invalidate(one.accessToken)).toBe("superseded");
    expect(await h.cycler.getToken()).toBe(two);
    expect(h.cycler.invalidate(two.accessToken)).toBe("renewing");
    const third = h.cycler.getToken();
    await flush();
    const three = h.issue();
    expect(await third).toBe(three);
    expect(h.cycler.acquisitions).toBe(3);
  });

  it("reports every new complete set, and a reset, to onChange", async () => {
    const h = harness({ rotating: true });
    const token = await h.signedIn();
    h.cycler.set(undefined);
    expect(h.changes).toEqual([token, undefined]);
  });

  it("discards a renewal that finishes after the tokens were replaced from outside", async () => {
    const h = harness({ rotating: true });
    const call = h.cycler.getToken();
    await flush();
    h.cycler.set(undefined);
    h.issue();
    await call;
    expect(h.cycler.current).toBeUndefined();
  });
});

describe("TokenCycler.offer (tokens another process renewed, from a shared store)", () => {
  const set = (accessToken: string, expiresAt: number): TokenSet => ({ accessToken, tokenType: "Bearer", expiresAt });

  it("takes a set that expires later, and refuses the same or an older one", async () => {
    let now = 0;
    const cycler = new TokenCycler<TokenSet>({
      rotating: true,
      clock: () => now,
      acquire: async () => set("first", now + 60_000),
    });
    await cycler.getToken();
    expect(cycler.offer(set("older", 30_000))).toBe(false);
    expect(cycler.offer(set("first", 90_000))).toBe(false);
    expect(cycler.offer(set("newer", 90_000))).toBe(true);
    now = 1_000;
    expect((await cycler.getToken()).accessToken).toBe("newer");
  });

  it("refuses while a renewal is in flight: the renewal reads the store itself", async () => {
    let release!: (t: TokenSet) => void;
    const cycler = new TokenCycler<TokenSet>({
      rotating: true,
      clock: () => 0,
      acquire: () => new Promise<TokenSet>((r) => (release = r)),
    });
    const waiting = cycler.getToken();
    expect(cycler.offer(set("offered", 90_000))).toBe(false);
    release(set("renewed", 60_000));
    expect((await waiting).accessToken).toBe("renewed");
  });
});

describe("TokenCycler's margin after a token expired on the way", () => {
  it(
    "counts a 401 on a token refused after its expiry as a transit time, so the next token stops being sent " +
      "earlier",
    async () => {
      let now = 0;
      let n = 0;
      // No refresh window: a token is renewed only when it stops being usable, so the margin shows.
      const cycler = new TokenCycler<TokenSet>({
        rotating: true,
        refreshWindowMs: 0,
        clock: () => now,
        acquire: async () => ({ accessToken: `t${++n}`, tokenType: "Bearer", expiresAt: now + 10_000 }),
      });
      const first = await cycler.getToken();
      // Without history the margin is a twentieth of the life: usable until 9.5 s.
      now = 9_400;
      expect((await cycler.getToken()).accessToken).toBe("t1");
      // Sent at 9.4 s, refused at 10.3 s: it expired on the way, 0.8 s after usableUntil.
      now = 10_300;
      expect(cycler.invalidate(first.accessToken)).toBe("renewing");
      const second = await cycler.getToken(); // expires at 20.3 s
      expect(second.accessToken).toBe("t2");
      // The margin is now twice 0.8 s: from 18.7 s the token is not sent any more; a renewal is waited for.
      now = 18_600;
      expect((await cycler.getToken()).accessToken).toBe("t2");
      now = 18_800;
      expect((await cycler.getToken()).accessToken).toBe("t3");
    },
  );
});
