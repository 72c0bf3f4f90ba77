/** A failure the dev server answers with `status` and ML Server's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly exceptionType = "DevServerException",
    /** Headers of the answer, e.g. `{ "retry-after": "1" }`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
