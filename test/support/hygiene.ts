import { inspect } from "node:util";
import { setDebugLog } from "../../src/core/log.js";

/**
 * Collects every secret a test suite handles (passwords, issued tokens) and every text the library
 * produced (error messages, `String(err)`, `util.inspect` of errors, providers and clients, debug log
 * lines), so the suite can assert that no secret appears in any of them.
 */
export class SecretHygiene {
  readonly secrets = new Set<string>();
  readonly outputs: string[] = [];
  readonly #previousSink = setDebugLog((line) => this.outputs.push(line));

  secret(...values: (string | undefined)[]): void {
    for (const v of values) if (v) this.secrets.add(v);
  }

  /** Records what an error shows in every common way of printing it. */
  error(error: unknown): unknown {
    if (error instanceof Error) {
      this.outputs.push(
        error.message,
        String(error),
        inspect(error, { depth: 5 }),
        JSON.stringify(error),
        error.stack ?? "",
      );
      // What a user gets by printing the cause too, as loggers often do.
      if (error.cause !== undefined) this.outputs.push(inspect(error.cause, { depth: 3 }));
    }
    return error;
  }

  /** Runs `fn`, expecting it to throw; returns the error, recorded for the secret search. */
  async failure(fn: () => Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
    try {
      await fn();
    } catch (error) {
      return this.error(error) as Error & { code?: string; status?: number };
    }
    throw new Error("expected a failure");
  }

  /** Records what printing an object (a provider, a client, a middleware) shows. */
  object(value: unknown): void {
    this.outputs.push(inspect(value, { depth: 5, showHidden: true }));
  }

  /** A fetch that learns every token it carries or receives, so they can be searched for later. */
  fetch(inner: typeof fetch = fetch): typeof fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      this.secret(/^Bearer (.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]);
      const response = await inner(request);
      if (/\/(login|refreshToken|token)$/.test(new URL(request.url).pathname) && response.ok) {
        const body = (await response
          .clone()
          .json()
          .catch(() => ({}))) as { access_token?: string; refresh_token?: string; id_token?: string };
        this.secret(body.access_token, body.refresh_token, body.id_token);
      }
      return response;
    };
  }

  /** Every (secret, output) pair in which the secret appears; empty when clean. */
  leaks(): string[] {
    const found: string[] = [];
    for (const secret of this.secrets) {
      for (const output of this.outputs)
        if (output.includes(secret)) found.push(`${secret.slice(0, 4)}… in: ${output.slice(0, 120)}`);
    }
    return found;
  }

  stop(): void {
    setDebugLog(this.#previousSink);
  }
}
