/** The shape of a step of the request pipeline (`pipeline.ts` composes them). */
import type { Exchange } from "./exchange.js";

/** The rest of the pipeline, below a policy. */
export type Next = (exchange: Exchange) => Promise<Response>;

/** One step of the pipeline: does its part, and calls `next` (or answers without it). */
export interface Policy {
  readonly name: string;
  send(exchange: Exchange, next: Next): Promise<Response>;
}
