/** Fault injection for tests: the first fault matching a route is used (and used up). */
import type { Fault } from "../types.js";

export function takeFault(faults: Fault[], route: string): Fault | undefined {
  const index = faults.findIndex((f) => f.route === "*" || f.route === route);
  if (index < 0) return undefined;
  const fault = faults[index]!;
  if (fault.times !== undefined && --fault.times <= 0) faults.splice(index, 1);
  return fault;
}
