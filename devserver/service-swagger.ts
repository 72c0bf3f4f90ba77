/**
 * The Swagger 2.0 document of one published service, in the form ML Server generates at
 * `GET /api/{name}/{version}/swagger.json`: token calls, the consume call (named by the service's
 * alias), batch calls, and the service's inputs and outputs as schemas. Descriptions are this
 * project's own words.
 */

export interface ParameterDefinition {
  name: string;
  type: string;
}

export interface ServiceDescription {
  name: string;
  version: string;
  description?: string;
  operationId?: string;
  inputParameterDefinitions?: ParameterDefinition[];
  outputParameterDefinitions?: ParameterDefinition[];
}

/** How ML Server types each parameter kind in JSON Schema; R data frames appear only as objects. */
const SCHEMA_BY_KIND: Record<string, object> = {
  numeric: { type: "number" },
  integer: { type: "integer" },
  logical: { type: "boolean" },
  character: { type: "string" },
  vector: { type: "array", items: { type: "number" } },
  matrix: { type: "array", items: { type: "array", items: { type: "number" } } },
  "data.frame": { type: "object" },
};

const parametersSchema = (definitions: ParameterDefinition[] = []) => ({
  type: "object",
  properties: Object.fromEntries(definitions.map((d) => [d.name, { ...SCHEMA_BY_KIND[d.type], description: d.type }])),
});

const error = { description: "Any other failure.", schema: { $ref: "#/definitions/Error" } };
const bearer = [{ Bearer: [] }];

/**
 * `revoke`: where the document puts the revoke call: `query` (`DELETE /login/refreshToken?refreshToken=`,
 * as 9.3 servers generate it) or `path` (`DELETE /login/refreshToken/{refreshToken}`, 2017-era servers).
 */
export function serviceSwagger(
  service: ServiceDescription,
  { revoke = "query" }: { revoke?: "query" | "path" } = {},
): Record<string, unknown> {
  const tags = [service.name];
  const revokeOperation = {
    operationId: "revokeRefreshToken",
    tags,
    description: "Revoke a refresh token.",
    parameters: [
      { name: "refreshToken", in: revoke, required: true, type: "string", description: "The refresh token to revoke." },
    ],
    responses: {
      200: { description: "Revoked.", schema: { $ref: "#/definitions/AccessTokenResponse" } },
      default: error,
    },
  };
  const base = `/api/${service.name}/${service.version}`;
  const execution = {
    name: "executionId",
    in: "path",
    required: true,
    type: "string",
    description: "The batch execution's id.",
  };
  const index = {
    name: "index",
    in: "path",
    required: true,
    type: "integer",
    description: "The position of one input set in the batch.",
  };
  return {
    swagger: "2.0",
    info: { title: service.name, version: service.version, description: service.description ?? "" },
    schemes: ["http", "https"],
    consumes: ["application/json"],
    produces: ["application/json"],
    tags: [{ name: service.name, description: service.description ?? "" }],
    securityDefinitions: { Bearer: { type: "apiKey", name: "Authorization", in: "header" } },
    paths: {
      "/login": {
        post: {
          operationId: "login",
          tags,
          description: "Sign in; answers with an access token and a refresh token.",
          parameters: [
            {
              name: "loginRequest",
              in: "body",
              required: true,
              schema: { $ref: "#/definitions/LoginRequest" },
              description: "The account.",
            },
          ],
          responses: {
            200: { description: "Signed in.", schema: { $ref: "#/definitions/AccessTokenResponse" } },
            default: error,
          },
        },
      },
      "/login/refreshToken": {
        post: {
          operationId: "renewToken",
          tags,
          description: "Trade a refresh token for a new pair.",
          parameters: [
            {
              name: "renewTokenRequest",
              in: "body",
              required: true,
              schema: { $ref: "#/definitions/RenewTokenRequest" },
              description: "The refresh token.",
            },
          ],
          responses: {
            200: { description: "A new pair.", schema: { $ref: "#/definitions/AccessTokenResponse" } },
            default: error,
          },
        },
        ...(revoke === "query" && { delete: revokeOperation }),
      },
      ...(revoke === "path" && { "/login/refreshToken/{refreshToken}": { delete: revokeOperation } }),
      [base]: {
        post: {
          operationId: service.operationId ?? "ConsumeWebService",
          tags,
          description: `Run the ${service.name} web service once.`,
          security: bearer,
          parameters: [
            {
              name: "WebServiceParameters",
              in: "body",
              required: true,
              schema: { $ref: "#/definitions/InputParameters" },
              description: "The inputs.",
            },
          ],
          responses: {
            200: { description: "The run's result.", schema: { $ref: "#/definitions/WebServiceResult" } },
            400: { description: "The inputs were not accepted." },
            500: { description: "The server failed." },
            default: error,
          },
        },
      },
      [`${base}/batch`]: {
        post: {
          operationId: "StartBatchExecution",
          tags,
          description: "Start running the service on many input sets.",
          security: bearer,
          parameters: [
            {
              name: "BatchWebServiceParameters",
              in: "body",
              required: true,
              schema: { type: "array", items: { $ref: "#/definitions/InputParameters" } },
              description: "The input sets.",
            },
            {
              name: "parallelCount",
              in: "query",
              required: false,
              type: "integer",
              description: "How many input sets run at once.",
            },
          ],
          responses: {
            202: { description: "Started.", schema: { $ref: "#/definitions/StartBatchExecutionResponse" } },
            400: { description: "The inputs were not accepted." },
            500: { description: "The server failed." },
            default: error,
          },
        },
        get: {
          operationId: "GetBatchExecutions",
          tags,
          description: "List the batch executions of this service.",
          security: bearer,
          responses: {
            200: { description: "Their ids.", schema: { type: "array", items: { type: "string" } } },
            default: error,
          },
        },
      },
      [`${base}/batch/{executionId}`]: {
        get: {
          operationId: "GetBatchExecutionStatus",
          tags,
          description: "Where a batch execution stands, with results so far if asked.",
          security: bearer,
          parameters: [
            execution,
            {
              name: "showPartialResults",
              in: "query",
              required: false,
              type: "boolean",
              description: "Include the results finished so far.",
            },
          ],
          responses: {
            200: { description: "Its state.", schema: { $ref: "#/definitions/BatchWebServiceResult" } },
            default: error,
          },
        },
        delete: {
          operationId: "CancelAndDeleteBatchExecution",
          tags,
          description: "Stop a batch execution and delete its results.",
          security: bearer,
          parameters: [execution],
          responses: {
            200: {
              description: "The ids of the input sets that had finished.",
              schema: { type: "array", items: { type: "string" } },
            },
            default: error,
          },
        },
      },
      [`${base}/batch/{executionId}/{index}/files`]: {
        get: {
          operationId: "GetBatchExecutionFiles",
          tags,
          description: "List the files one input set's run wrote.",
          security: bearer,
          parameters: [execution, index],
          responses: {
            200: { description: "File names.", schema: { type: "array", items: { type: "string" } } },
            default: error,
          },
        },
      },
      [`${base}/batch/{executionId}/{index}/files/{fileName}`]: {
        get: {
          operationId: "GetBatchExecutionFile",
          tags,
          description: "Download one file one input set's run wrote.",
          security: bearer,
          parameters: [
            execution,
            index,
            { name: "fileName", in: "path", required: true, type: "string", description: "The file's name." },
          ],
          responses: { 200: { description: "The file.", schema: { type: "file" } }, default: error },
        },
      },
    },
    definitions: {
      InputParameters: parametersSchema(service.inputParameterDefinitions),
      OutputParameters: parametersSchema(service.outputParameterDefinitions),
      WebServiceResult: {
        type: "object",
        properties: {
          success: { type: "boolean", description: "Whether the run succeeded." },
          errorMessage: { type: "string", description: "What went wrong, when it failed." },
          consoleOutput: { type: "string", description: "What the code printed." },
          changedFiles: {
            type: "array",
            items: { type: "string", description: "A file name." },
            description: "Files the run created or changed.",
          },
          outputParameters: { $ref: "#/definitions/OutputParameters" },
        },
      },
      StartBatchExecutionResponse: {
        type: "object",
        properties: { batchExecutionId: { type: "string", description: "The execution's id." } },
      },
      BatchWebServiceResult: {
        type: "object",
        properties: {
          state: {
            type: "string",
            enum: ["pending", "inProgress", "ready", "complete"],
            description: "Where the execution stands.",
          },
          completedItemCount: { type: "integer", format: "int32", description: "Input sets finished." },
          totalItemCount: { type: "integer", format: "int32", description: "Input sets in all." },
          batchExecutionResults: {
            type: "array",
            items: { $ref: "#/definitions/WebServiceResult" },
            description: "One result per finished input set.",
          },
        },
      },
      LoginRequest: {
        type: "object",
        properties: {
          password: { type: "string", description: "The password." },
          username: { type: "string", description: "The account name." },
        },
      },
      RenewTokenRequest: {
        type: "object",
        properties: { refreshToken: { type: "string", description: "The current refresh token." } },
      },
      AccessTokenResponse: {
        type: "object",
        properties: {
          refresh_token: { type: "string" },
          token_type: { type: "string" },
          access_token: { type: "string" },
          expires_on: { type: "string" },
        },
      },
      Error: {
        type: "object",
        properties: {
          message: { type: "string" },
          code: { type: "integer", format: "int32" },
          fields: { type: "string" },
        },
      },
    },
  };
}
