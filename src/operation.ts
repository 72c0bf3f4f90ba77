/**
 * Which operation a request is, as its method and path template (`GET /services/{name}`), for the
 * layers below openapi-fetch that need it: retries opted in per operation, and spans named by the
 * template rather than the URL (which may hold names, ids or tokens).
 */
const templates = new WeakMap<Request, string>();

/** Records the path template of `request` (the client's middleware does this for every call). */
export function markOperation(request: Request, template: string): void {
  templates.set(request, template);
}

/** The path template of `request`, if a client marked it. */
export function templateOf(request: Request): string | undefined {
  return templates.get(request);
}
