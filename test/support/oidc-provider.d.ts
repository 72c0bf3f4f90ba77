// oidc-provider ships no types; the test authority uses a small part of it, typed loosely here.
declare module "oidc-provider" {
  export default class Provider {
    constructor(issuer: string, configuration: object);
    proxy: boolean;
    use(middleware: (ctx: any, next: () => Promise<void>) => Promise<void>): void;
    callback(): (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void;
  }
}
