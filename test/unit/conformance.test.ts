import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { expect, it } from "vitest";
import { compareSpecs } from "../support/conformance.js";
import { SPECS_DIR, describeWithSpecs } from "../support/specs.js";

const ours = (): Record<string, unknown> => YAML.parse(readFileSync("openapi/mlserver.yaml", "utf8"));
const microsoft = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(SPECS_DIR, "mlserver-swagger-9.3.0.json"), "utf8"));

describeWithSpecs("openapi/mlserver.yaml conforms to Microsoft's ML Server 9.3.0 Swagger", () => {
  it("has every one of the 43 operations with the same method, path, operationId, parameters and schemas", () => {
    const ms = microsoft();
    const count = Object.values(ms.paths as Record<string, object>).flatMap((item) => Object.keys(item)).length;
    expect(count).toBe(43);
    expect(compareSpecs(ms, ours())).toEqual([]);
  });

  it("improves on the original where the original is silent", () => {
    const doc = ours() as any;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ Bearer: [] }]);
    expect(doc.paths["/login"].post.security).toEqual([]);
    expect(doc.paths["/login/refreshToken"].post.security).toEqual([]);
    expect(doc.components.schemas.LoginRequest.required).toEqual(["username", "password"]);
    expect(doc.components.schemas.RenewTokenRequest.required).toEqual(["refreshToken"]);
    expect(doc.components.schemas.PublishWebServiceRequest.required).toEqual(["code"]);
    expect(doc.components.schemas.AccessTokenResponse.properties.expires_on.type).toEqual(["integer", "string"]);
    expect(doc.components.schemas.AccessTokenResponse.properties.expires_in).toBeDefined();
    expect(Object.keys(doc.paths["/services/{name}"].post.responses)).toEqual(
      expect.arrayContaining(["400", "401", "403", "409"]),
    );
    expect(doc.paths["/sessions/{id}/workspace"].get.responses["410"]).toBeDefined();
    expect(doc.components.schemas.RealtimeModelUpload.properties.model.format).toBe("binary");
  });

  it("reports differences it is shown (the comparison can fail)", () => {
    const changed = ours() as any;
    changed.paths["/login"].post.operationId = "signIn";
    delete changed.components.schemas.WebService.properties.creationTime;
    changed.components.schemas.Snapshot.properties.contentSize.type = "string";
    delete changed.paths["/status"];
    changed.paths["/sessions/{id}/files/{fileName}"].parameters[1].name = "file";
    const diffs = compareSpecs(microsoft(), changed);
    expect(diffs).toEqual(
      expect.arrayContaining([
        "POST /login: operationId login in Microsoft's, signIn in ours",
        "GET /services: response 200 #WebService[]: property creationTime missing in ours",
        "GET /snapshots: response 200 #Snapshot[].contentSize: type integer in Microsoft's, ours allows string",
        "GET /status: missing in ours",
        "GET /sessions/{id}/files/{fileName}: path parameter fileName: missing in ours",
        "GET /sessions/{id}/files/{fileName}: path parameter file exists only in ours",
      ]),
    );
  });
});
