/** The dev server's public types: its options, what it records, and the running server. */
import type { CorsSettings } from "./http/cors.js";
import type { DevSession, DevSnapshot } from "./sessions.js";
import type { TokenAuthority, TokenLifetimes } from "./tokens.js";

/** An account that can sign in to the dev server. */
export interface DevUser {
  username: string;
  password: string;
  /** This user's access token lifetime, if not the server's (e.g. a long-lived baseline in benchmarks). */
  accessTokenSeconds?: number;
  /** Whether the account has ML Server's admin role (needed to change compute nodes); default: only `admin`. */
  admin?: boolean;
}

/** A fault to inject on matching requests, before anything else happens to them. */
export interface Fault {
  /** `METHOD /path/template` as in the spec (e.g. `POST /login/refreshToken`), or `*` for all. */
  route: string;
  /**
   * `status`: answer with `status`. `delay`: wait `delayMs`, then go on as usual (or, when `status`
   * is given, answer with it: a call that hangs, then fails). `drop`: close the connection unanswered.
   */
  kind: "status" | "delay" | "drop";
  status?: number;
  delayMs?: number;
  /** How many requests it affects before it is used up (default: all). */
  times?: number;
  /** Headers of a `status` answer, e.g. `{ "retry-after": "1" }`. */
  headers?: Record<string, string>;
}

/** Options of `startDevServer`; every one has a default. */
export interface DevServerOptions extends Partial<TokenLifetimes> {
  /** Accounts that can sign in (default: `admin` with password `Admin-Pa55word!`). */
  users?: DevUser[];
  /** Default 0: a free port. */
  port?: number;
  faults?: Fault[];
  /** Milliseconds since the epoch; inject to test long spans such as the 90-day cap. */
  clock?: () => number;
  /** The OpenAPI description requests are validated against (default: the project's). */
  spec?: string;
  /** Also accept revoke in the path form of 2017-era servers: `DELETE /login/refreshToken/{token}`. */
  legacyRevokePath?: boolean;
  /**
   * Also accept Azure AD tokens, as ML Server does with its `AzureActiveDirectory` settings: JWTs
   * from `issuer` (ML Server's `Authority`) for `audience` (its `Audience`), verified against the
   * issuer's JWKS, with expiry checked.
   */
  azureActiveDirectory?: { issuer: string; audience: string; jwksUri: string; ca?: string };
  /** `strict`: a sign-in or renewal ends the user's other sessions (see TokenAuthority); default `per-pair`. */
  sessionMode?: "per-pair" | "strict";
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  tls?: { key: string; cert: string };
  /** Resource limits; every one has a default, listed in the README's dev server section. */
  executionLimits?: ExecutionLimits;
  /**
   * How long a client may take to send a request's headers (default 10 s) and the whole request
   * (default 60 s, nginx's `client_body_timeout`); a slower one is answered 408 and disconnected.
   */
  httpTimeouts?: { headersMs?: number; requestMs?: number };
  /**
   * CORS as ML Server's `appsettings.json` has it (`"CORS": { "Enabled": true, "Origins": [...] }`),
   * for browser apps on other origins: preflights answered and `Access-Control-Allow-Origin` sent
   * for the listed origins only (exact `scheme://host:port`, or `*` for any); nothing for others.
   */
  cors?: CorsSettings;
  /**
   * Host names served besides the loopback names the server listens as (`127.0.0.1`, `localhost`,
   * `[::1]`, with its port). Any other `Host` is refused with 421 before anything else, so that a
   * web page cannot reach the dev server through DNS rebinding. List a name only when you reach
   * the dev server through it on purpose (a container name, a port forward).
   */
  allowedHosts?: string[];
  /**
   * The default pool of warm shells per service, as ML Server's configuration sets it (a service's
   * own pool, from the pool API, takes precedence): `initialSize` shells start with the pool (at
   * the service's first call), up to `maxSize` run at once. Defaults: 1 and `parallelCount`.
   */
  servicePool?: { initialSize?: number; maxSize?: number };
  /**
   * The Python that runs Python services and sessions: a command on the PATH or a path, e.g. a
   * virtualenv's `bin/python` with your packages, or Debian's `/usr/bin/python3`. Default
   * `python3`. A launcher shim (pyenv's) is resolved once to the interpreter it starts.
   */
  python?: string;
  /**
   * The R that runs R services and sessions: an `Rscript` on the PATH or its path; it needs the
   * jsonlite package. Default `Rscript`. Without it, R services and sessions are a 400 saying so.
   */
  r?: string;
}

/** What one run, one batch and all sessions together may use. */
export interface ExecutionLimits {
  /**
   * Per run (a service call, a batch item, a session's execute), counted from when its interpreter is ready: default 10
   * s.
   */
  timeMs?: number;
  /** Console output per run, stdout and stderr together: default 1 MiB. */
  outputBytes?: number;
  /** The most runs of one batch at a time; a larger `parallelCount` is lowered to it. Default: the CPU count. */
  parallelCount?: number;
  /**
   * The most Python and R interpreters running at once, for pools, sessions and batches together:
   * default 4 per CPU and at most one per 256 MiB of memory (8 on a 2-core machine). A request that
   * would start one more is answered 503 with `Retry-After: 1`; a pool larger than this is a 400.
   */
  interpreters?: number;
  /** Open sessions per user: default 8. One user at the limit does not stop others opening theirs. */
  sessions?: number;
  /** Snapshots kept, all users together: default 64; each archive at most `snapshotBytes` (default 64 MiB). */
  snapshots?: number;
  snapshotBytes?: number;
}

/** The dev server's own route for its counters (see `countersRoute`). */
export const COUNTERS_ROUTE = "/_devserver/counters";

/** What the dev server has seen and done, for tests to assert on (reset with `resetCounters()`). */
export interface Counters {
  requests: number;
  logins: number;
  failedLogins: number;
  renewals: number;
  failedRenewals: number;
  revokes: number;
  /** Every 401 the server sent. */
  unauthorized: number;
  /** 401s on API calls (not token calls): a token that was expired, rotated or revoked. */
  unauthorizedApiCalls: number;
  /** API calls authorized by an Azure AD token. */
  azureAdCalls: number;
  /** Service runs (one per consume call or batch item). */
  executions: number;
  /** Warm shells started for services (each ran its service's init code once). */
  shellsStarted: number;
  validationFailures: number;
  faultsInjected: number;
}

/** What the server saw of a request (no credentials are kept). */
export interface RecordedRequest {
  method: string;
  route: string;
  hadAuthorization: boolean;
  status: number;
}

/** A running dev server. */
export interface DevServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  port: number;
  counters: Counters;
  /** Mutable: push or splice faults while the server runs. */
  faults: Fault[];
  /** The most recent requests (up to 10,000). */
  requests: RecordedRequest[];
  authority: TokenAuthority;
  /** Published services by name and version, with what the server stored (e.g. a realtime model's digest). */
  services: Map<string, WebService>;
  /** Open sessions by id. */
  sessions: Map<string, DevSession>;
  /** Snapshots by id, with their archives. */
  snapshots: Map<string, DevSnapshot>;
  /** Sets every counter back to zero. */
  resetCounters(): void;
  /** Stops the server, ending open connections and running services. */
  close(): Promise<void>;
}

/** A published web service, as the dev server stores it. */
export interface WebService {
  name: string;
  version: string;
  versionPublishedBy: string;
  creationTime: string;
  runtimeType: string;
  code: string;
  [field: string]: unknown;
}
