import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "vitest";

/** Microsoft's published specs live beside the project, never inside it. */
export const SPECS_DIR = resolve(import.meta.dirname, "../../../shared/specs");
export const specsAvailable = existsSync(join(SPECS_DIR, "mlserver-swagger-9.3.0.json"));

export const coreSpecs = specsAvailable
  ? readdirSync(SPECS_DIR)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => join(SPECS_DIR, f))
  : [];
export const serviceSpecs = specsAvailable
  ? readdirSync(join(SPECS_DIR, "services"))
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => join(SPECS_DIR, "services", f))
  : [];

/**
 * A describe block that needs ../shared/specs. Where the folder is missing it says so and is
 * skipped, except under CI=true, where a missing folder is a failure: CI must run these.
 */
export function describeWithSpecs(name: string, body: () => void): void {
  if (specsAvailable) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it("needs ../shared/specs", () => {
        throw new Error(`${SPECS_DIR} is missing: CI must run the spec-based tests.`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${SPECS_DIR} is missing; it sits beside the project in a full checkout)`, body);
  }
}

/** A small OpenAPI 3.0 spec (one operation, one schema), with `extra` YAML appended. */
export const minimalSpec = (extra = ""): string => `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Thing" }
components:
  schemas:
    Thing: { type: object, properties: { name: { type: string } } }
${extra}`;
