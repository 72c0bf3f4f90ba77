import { readFile, writeFile, readdir, copyFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  generateFromSpec,
  generateTargets,
  securityModulePath,
  writeFilesAtomically,
} from "../../src/codegen/index.js";
import { main } from "../../src/cli/main.js";
import { GeneratedStaleError, SpecError } from "../../src/codegen/errors.js";
import { coreSpecs, describeWithSpecs, minimalSpec as minimal, serviceSpecs } from "../support/specs.js";
import { tempDir } from "../support/tmp.js";
import { typecheckFiles } from "../support/typecheck.js";

/** Runs the CLI in-process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, {
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describeWithSpecs("the generator on real-world specs that no one here wrote", () => {
  let dir: string;
  const outputs: string[] = [];
  beforeAll(async () => {
    dir = await tempDir();
  });

  it.each([...coreSpecs, ...serviceSpecs].map((f) => [basename(f), f]))(
    "converts and generates %s",
    async (_name, file) => {
      const output = join(dir, `${basename(file, ".json")}.ts`);
      const files = await generateFromSpec(file, { output });
      await writeFilesAtomically(files);
      outputs.push(...files.map((f) => f.path));
      const types = files[0]!.contents;
      expect(types).toMatch(/export interface paths \{/);
      expect(types).toMatch(/"\/login": \{/);
      // The security module is real code that says what the spec declares.
      const security = files[1]!.contents;
      expect(security).toMatch(/export const operationSecurity = /);
      const schemas = (name: string) => new RegExp(`${name}: \\{[^}]*\\}`).exec(types)?.[0] ?? "";
      if (file.includes("services")) {
        // Per-service swaggers declare a Bearer apiKey header and apply it to the consume call.
        expect(security).toMatch(/"Bearer": \{\s*"type": "apiKey",\s*"in": "header",\s*"name": "Authorization"/);
        // Recognised as ML Server's: every declared input required, every output present.
        for (const name of ["InputParameters", "OutputParameters"]) {
          const block = schemas(name);
          if (/\w\??: /.test(block)) expect(block, `${basename(file)} ${name}`).not.toMatch(/\w\?: /);
        }
      } else {
        expect(types).not.toMatch(/InputParameters/);
      }
    },
  );

  it("produces output that type-checks under strict settings", () => {
    expect(outputs).toHaveLength((coreSpecs.length + serviceSpecs.length) * 2);
    expect(typecheckFiles(outputs)).toEqual([]);
  });
});

describe("the generator on bad input", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  const cases: [string, string | Buffer, string, RegExp, number | undefined][] = [
    [
      "invalid JSON",
      '{\n  "openapi": "3.0.0",\n  "info": {\n    "title": "x",,\n  }\n}\n',
      "ERR_SPEC_PARSE",
      /not valid JSON/,
      4,
    ],
    [
      "invalid YAML",
      "openapi: 3.0.0\ninfo:\n  title: x\n   version: 1\npaths: {}\n",
      "ERR_SPEC_PARSE",
      /:3:10: is not valid YAML: Nested mappings/,
      3,
    ],
    [
      "a file that is not a spec",
      '{ "name": "package", "version": "1.0.0" }',
      "ERR_SPEC_NOT_OPENAPI",
      /not an OpenAPI or Swagger document/,
      undefined,
    ],
    ["a YAML list", "- a\n- b\n", "ERR_SPEC_NOT_OPENAPI", /not an OpenAPI or Swagger document/, undefined],
    [
      "Swagger 1.2",
      '{ "swaggerVersion": "1.2", "swagger": "1.2", "apis": [] }',
      "ERR_SPEC_VERSION",
      /supported versions are Swagger 2.0 and OpenAPI 3.0 and 3.1/,
      1,
    ],
    [
      "OpenAPI 4.0",
      "openapi: 4.0.0\ninfo: { title: t, version: '1' }\npaths: {}\n",
      "ERR_SPEC_VERSION",
      /declares openapi "4.0.0"/,
      1,
    ],
    [
      "an unresolvable $ref",
      minimal().replace("#/components/schemas/Thing", "#/components/schemas/Missing"),
      "ERR_SPEC_REF",
      /"#\/components\/schemas\/Missing" at \/paths\/~1things~1\{id\}\/get\/responses\/200\/.* does not resolve/,
      13,
    ],
    [
      "a legacy Windows encoding",
      Buffer.concat([Buffer.from(minimal().replace("title: t", "title: Caf")), Buffer.from([])])
        .toString("latin1")
        .replace("Caf", "Caf\u00e9"),
      "ERR_SPEC_ENCODING",
      /not UTF-8 \(byte 0xe9.*Windows-1252/,
      2,
    ],
  ];

  it.each(cases)(
    "%s: a clear error naming the file and line, a non-zero exit, nothing written",
    async (name, content, code, message, line) => {
      const json = typeof content === "string" && content.trimStart().startsWith("{");
      const spec = join(dir, `${name.replace(/\W+/g, "-")}.${json ? "json" : "yaml"}`);
      // The legacy-encoding case is written byte for byte as Windows-1252 would store it.
      await writeFile(spec, name === "a legacy Windows encoding" ? Buffer.from(content as string, "latin1") : content);
      const output = join(dir, `${basename(spec)}.out.ts`);

      const error = await generateFromSpec(spec, { output }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).code).toBe(code);
      expect((error as SpecError).message).toMatch(message);
      expect((error as SpecError).message.startsWith(spec)).toBe(true);
      expect((error as SpecError).line).toBe(line);

      const result = await cli("generate", spec, "-o", output);
      expect(result.code).toBe(1);
      expect(result.err).toContain(`error ${code}: ${spec}${line ? `:${line}` : ""}`);
      expect(await readdir(dir)).not.toContain(basename(output));
      expect(await readdir(dir)).not.toContain(basename(securityModulePath(output)));
    },
  );

  it("a missing file is reported as unreadable", async () => {
    const result = await cli("generate", join(dir, "nope.yaml"), "-o", join(dir, "x.ts"));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/ERR_SPEC_READ: .*nope\.yaml: could not be read \(no such file\)/);
  });

  it("leaves existing output untouched when a later step fails", async () => {
    const output = join(dir, "kept.ts");
    await writeFile(output, "// previous contents\n");
    await writeFile(join(dir, "broken.yaml"), minimal().replace("#/components/schemas/Thing", "#/nowhere"));
    expect((await cli("generate", join(dir, "broken.yaml"), "-o", output)).code).toBe(1);
    expect(await readFile(output, "utf8")).toBe("// previous contents\n");
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("writes nothing at all when one of the files cannot be written", async () => {
    const output = join(dir, "pair.ts");
    // A directory where the security module should go makes its rename fail after the types were staged.
    await writeFile(join(dir, "ok.yaml"), minimal());
    const { mkdir } = await import("node:fs/promises");
    await mkdir(securityModulePath(output));
    await writeFile(join(securityModulePath(output), "occupied"), "");
    expect((await cli("generate", join(dir, "ok.yaml"), "-o", output)).code).toBe(1);
    expect(await readdir(dir)).not.toContain("pair.ts");
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("generates from a URL, and names the URL when the download fails", async () => {
    const { createServer } = await import("node:http");
    const spec = minimal();
    const server = createServer((req, res) => {
      if (req.url === "/api.yaml") res.writeHead(200, { "content-type": "application/yaml" }).end(spec);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const files = await generateFromSpec(`${base}/api.yaml`, { output: join(dir, "remote.ts") });
      expect(files[0]!.contents).toMatch(/getThing/);
      expect(files[0]!.contents.split("\n")[0]).toBe(
        `// Generated by mlserver-client from ${base}/api.yaml. Do not edit: regenerate instead.`,
      );
      const missing = await cli("generate", `${base}/gone.yaml`, "-o", join(dir, "gone.ts"));
      expect(missing.code).toBe(1);
      expect(missing.err).toContain(`ERR_SPEC_READ: ${base}/gone.yaml: download failed with HTTP 404`);
    } finally {
      server.close();
    }
  });

  it("answers usage errors with exit 2 and the usage text", async () => {
    const result = await cli("generate", "only-a-spec.yaml");
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/generate takes one spec and -o <file>/);
    expect((await cli("frobnicate")).code).toBe(2);
  });
});

describe("the generator's output and drift check", () => {
  it("maps security per operation, OR of ANDs, with [] for public operations", async () => {
    const dir = await tempDir();
    const spec = join(dir, "mixed.yaml");
    await writeFile(
      spec,
      `openapi: 3.1.0
info: { title: t, version: "1" }
security: [{ bearer: [] }]
paths:
  /public: { get: { security: [], responses: { "204": { description: ok } } } }
  /either: { get: { security: [{ bearer: [] }, { key: [] }], responses: { "204": { description: ok } } } }
  /both: { post: { security: [{ bearer: [], key: [] }], responses: { "204": { description: ok } } } }
  /inherited: { delete: { responses: { "204": { description: ok } } } }
components:
  securitySchemes:
    bearer: { type: http, scheme: Bearer }
    key: { type: apiKey, in: header, name: X-Key }
`,
    );
    const [, security] = await generateFromSpec(spec, { output: join(dir, "mixed.ts") });
    await writeFilesAtomically([{ path: join(dir, "mixed.security.ts"), contents: security!.contents }]);
    const mod = await import(join(dir, "mixed.security.ts"));
    expect(mod.securitySchemes).toEqual({
      bearer: { type: "http", scheme: "bearer" },
      key: { type: "apiKey", in: "header", name: "X-Key" },
    });
    expect(mod.operationSecurity).toEqual({
      "/public": { get: [] },
      "/either": { get: [{ bearer: [] }, { key: [] }] },
      "/both": { post: [{ bearer: [], key: [] }] },
      "/inherited": { delete: [{ bearer: [] }] },
    });
  });

  it("generate:check passes on the committed files and names each stale or missing file", async () => {
    const targets = JSON.parse(await readFile("openapi/targets.json", "utf8"));
    await expect(generateTargets(targets, { check: true })).resolves.toHaveLength(2);

    const dir = await tempDir();
    await copyFile("openapi/mlserver.yaml", join(dir, "api.yaml"));
    const target = { spec: join(dir, "api.yaml"), output: join(dir, "api.ts") };
    await expect(generateTargets([target], { check: true })).rejects.toThrow(GeneratedStaleError);
    await generateTargets([target]);
    await expect(generateTargets([target], { check: true })).resolves.toHaveLength(2);
    await writeFile(
      join(dir, "api.yaml"),
      (await readFile(join(dir, "api.yaml"), "utf8")).replace("operationId: status", "operationId: health"),
    );
    const error = (await generateTargets([target], { check: true }).catch((e: unknown) => e)) as GeneratedStaleError;
    expect(error.code).toBe("ERR_GENERATED_STALE");
    expect(error.files).toEqual([join(dir, "api.ts")]);
  });
});
