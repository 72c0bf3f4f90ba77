/**
 * Which operation a request is, as its method and path template (`GET /services/{name}`), for the
 * layers below openapi-fetch that need it: retries opted in per operation, and spans named by the
 * template rather than the URL (which may hold names, ids or tokens); and how many retries a
 * response took, for its span.
 */
const TEMPLATE: unique symbol = Symbol("mlserver-client.operation");
type Marked = Request & { [TEMPLATE]?: string };

/**
 * Records the path template of `request` (the client's middleware does this for every call). A
 * symbol-keyed property rather than a WeakMap: one per call, and a WeakMap entry costs the GC more.
 */
export function markOperation(request: Request, template: string): void {
  (request as Marked)[TEMPLATE] = template;
}

/** The path template of `request`, if a client marked it. */
export function templateOf(request: Request): string | undefined {
  return (request as Marked)[TEMPLATE];
}

const RETRIES: unique symbol = Symbol("mlserver-client.retries");

/** Records that the call answered by `response` took `retries` retries (the retry layer does). */
export function markRetries(response: Response, retries: number): void {
  (response as Response & { [RETRIES]?: number })[RETRIES] = retries;
}

/** How many retries the call that got `response` took (0 when it was answered at the first attempt). */
export function retriesOf(response: Response): number {
  return (response as Response & { [RETRIES]?: number })[RETRIES] ?? 0;
}
