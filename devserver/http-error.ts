/** A failure the dev server answers with `status` and ML Server's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly exceptionType = "DevServerException",
  ) {
    super(message);
  }
}
