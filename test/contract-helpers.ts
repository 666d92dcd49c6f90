// Validates MX response bodies against MX's own OpenAPI description (openapi-v20111101.yml) with ajv.
// Used by the sandbox's contract test and by anyone who records real/sandbox responses and checks them.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SPEC_ID = "https://mx-sandbox.local/openapi-v20111101.json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiSpec {
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, JsonObject>; parameters?: Record<string, JsonObject> };
}

/** Where the spec is read from: env MX_OPENAPI_SPEC, else `<repo>/../shared/mx/openapi-v20111101.yml`. */
export function specPath(): string {
  return process.env.MX_OPENAPI_SPEC || resolve(REPO_ROOT, "../shared/mx/openapi-v20111101.yml");
}

/** The parsed spec, or undefined when the file is absent (callers skip with a message). */
export function loadSpec(path = specPath()): OpenApiSpec | undefined {
  if (!existsSync(path)) return undefined;
  const doc = parse(readFileSync(path, "utf8")) as OpenApiSpec;
  if (typeof doc !== "object" || doc === null || !doc.paths || !doc.components?.schemas) {
    throw new Error(`${path} does not look like an OpenAPI document`);
  }
  return doc;
}

export interface ResponseCheck {
  /** True when the body matches the schema (or the status has no body to check). */
  valid: boolean;
  /** ajv's errors, as `instancePath message` lines. */
  errors: string[];
  /** Properties in the body that the spec does not describe (informative: MX adds fields over time). */
  unknownProperties: string[];
  operationId?: string;
}

/** Rewrites local `#/components/...` refs to the registered spec document so ajv can resolve them. */
function absolutizeRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(absolutizeRefs);
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] =
      k === "$ref" && typeof v === "string" && v.startsWith("#/") ? `${SPEC_ID}${v}` : absolutizeRefs(v);
  }
  return out;
}

export function createContractValidator(spec: OpenApiSpec) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  addFormats(ajv);
  ajv.addSchema({ $id: SPEC_ID, components: absolutizeRefs(spec.components as unknown as Json) } as object);
  const compiled = new Map<string, ValidateFunction>();

  const deref = (schema: JsonObject): JsonObject => {
    let current = schema;
    for (let i = 0; i < 50 && typeof current.$ref === "string"; i++) {
      const name = current.$ref.split("/").pop() ?? "";
      current = spec.components.schemas[name] ?? {};
    }
    return current;
  };

  /** Lists body properties not described by the schema (following $ref and allOf). */
  function unknownProperties(schema: JsonObject, value: unknown, at: string, out: string[]): void {
    const s = deref(schema);
    if (Array.isArray(value)) {
      const items = s.items;
      if (items && typeof items === "object" && !Array.isArray(items)) {
        value.forEach((v, i) => {
          unknownProperties(items, v, `${at}/${i}`, out);
        });
      }
      return;
    }
    if (value === null || typeof value !== "object") return;
    const parts = [s, ...(Array.isArray(s.allOf) ? (s.allOf as JsonObject[]).map(deref) : [])];
    const props: Record<string, JsonObject> = {};
    for (const part of parts) Object.assign(props, (part.properties as Record<string, JsonObject>) ?? {});
    if (Object.keys(props).length === 0) return;
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k];
      if (!sub) out.push(`${at}/${k}`);
      else unknownProperties(sub, v, `${at}/${k}`, out);
    }
  }

  function operation(method: string, pathTemplate: string): JsonObject | undefined {
    return spec.paths[pathTemplate]?.[method.toLowerCase()];
  }

  /** Checks one response body against the operation's documented response for that status (path: template or concrete). */
  function validateResponse(method: string, path: string, status: number, body: unknown): ResponseCheck {
    // A concrete path (`/users/USR-1`) is accepted too: it is mapped to the spec's template.
    const pathTemplate = spec.paths[path] ? path : (templateFor(method, path) ?? path);
    const op = operation(method, pathTemplate);
    if (!op) {
      return {
        valid: false,
        errors: [`${method} ${pathTemplate} is not in the spec`],
        unknownProperties: [],
      };
    }
    const operationId = typeof op.operationId === "string" ? op.operationId : undefined;
    const base = { unknownProperties: [] as string[], ...(operationId ? { operationId } : {}) };
    // 204 is documented in prose for some operations (e.g. challenges when none): it must have no body.
    if (status === 204) {
      const empty = body === undefined || body === "" || body === null;
      return { ...base, valid: empty, errors: empty ? [] : ["a 204 response must have no body"] };
    }
    // Error bodies are not documented for this API version: nothing to check.
    if (status >= 400) return { ...base, valid: true, errors: [] };
    const response = (op.responses as JsonObject | undefined)?.[String(status)] as JsonObject | undefined;
    if (!response) {
      return { ...base, valid: false, errors: [`status ${status} is not documented for ${operationId}`] };
    }
    const content = response.content as Record<string, JsonObject> | undefined;
    const schema = content ? Object.values(content)[0]?.schema : undefined;
    if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
      return { ...base, valid: body === undefined || body === "", errors: [] };
    }
    const key = `${method.toUpperCase()} ${pathTemplate} ${status}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(absolutizeRefs(schema) as object);
      compiled.set(key, validate);
    }
    const valid = validate(body) as boolean;
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`.trim());
    const extras: string[] = [];
    unknownProperties(schema, body, "", extras);
    return { ...base, valid, errors, unknownProperties: extras };
  }

  /** The spec's path template for a concrete path (`/users/USR-1/members` → `/users/{user_guid}/members`). */
  function templateFor(method: string, concretePath: string): string | undefined {
    const path = concretePath.split("?")[0] ?? "";
    const got = path.split("/");
    let best: { template: string; literals: number } | undefined;
    for (const [template, ops] of Object.entries(spec.paths)) {
      if (!ops[method.toLowerCase()]) continue;
      const want = template.split("/");
      if (want.length !== got.length) continue;
      let literals = 0;
      const fits = want.every((w, i) => {
        if (/^\{[^}]+\}$/.test(w)) return (got[i] ?? "") !== "";
        literals += 1;
        return w === got[i];
      });
      // Prefer the most literal match (`/institutions/favorites` over `/institutions/{institution_code}`).
      if (fits && (!best || literals > best.literals)) best = { template, literals };
    }
    return best?.template;
  }

  /** The operation's parameters (following `#/components/parameters/…` refs), by where they go. */
  function parametersOf(op: JsonObject, where: "query" | "path"): Map<string, JsonObject> {
    const found = new Map<string, JsonObject>();
    for (const raw of (op.parameters as JsonObject[] | undefined) ?? []) {
      const ref = typeof raw.$ref === "string" ? raw.$ref.split("/").pop() : undefined;
      const parameter = ref ? spec.components.parameters?.[ref] : raw;
      if (parameter?.in === where && typeof parameter.name === "string") found.set(parameter.name, parameter);
    }
    return found;
  }

  /**
   * Checks one request as sent (concrete URL with its query string, parsed JSON body): the operation
   * exists, every query parameter is one the operation declares and fits its schema, and the body fits
   * the documented request body with no property the spec does not describe.
   */
  function validateRequest(method: string, url: string, body: unknown): ResponseCheck {
    const parsed = new URL(url, "http://mx.invalid");
    const pathTemplate = templateFor(method, parsed.pathname);
    const op = pathTemplate ? operation(method, pathTemplate) : undefined;
    if (!pathTemplate || !op) {
      return {
        valid: false,
        errors: [`${method} ${parsed.pathname} is not in the spec`],
        unknownProperties: [],
      };
    }
    const operationId = typeof op.operationId === "string" ? op.operationId : undefined;
    const errors: string[] = [];
    const declared = parametersOf(op, "query");
    for (const [name, value] of parsed.searchParams) {
      const parameter = declared.get(name);
      if (!parameter) {
        errors.push(`query parameter ${name} is not declared for ${operationId}`);
        continue;
      }
      const schema = (parameter.schema as JsonObject | undefined) ?? {};
      const typed: unknown =
        schema.type === "integer" || schema.type === "number"
          ? Number(value)
          : schema.type === "boolean"
            ? value === "true"
              ? true
              : value === "false"
                ? false
                : value
            : value;
      const key = `query ${operationId} ${name}`;
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.compile(absolutizeRefs(schema) as object);
        compiled.set(key, validate);
      }
      if (!validate(typed)) errors.push(`query parameter ${name}=${value} does not fit its schema`);
    }
    const requestBody = op.requestBody as JsonObject | undefined;
    const content = requestBody?.content as Record<string, JsonObject> | undefined;
    const schema = content ? Object.values(content)[0]?.schema : undefined;
    const extras: string[] = [];
    if (body !== undefined) {
      if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
        errors.push(`${operationId} documents no request body`);
      } else {
        const key = `request ${method.toUpperCase()} ${pathTemplate}`;
        let validate = compiled.get(key);
        if (!validate) {
          validate = ajv.compile(absolutizeRefs(schema) as object);
          compiled.set(key, validate);
        }
        if (!validate(body)) {
          for (const e of validate.errors ?? [])
            errors.push(`${e.instancePath || "/"} ${e.message ?? ""}`.trim());
        }
        unknownProperties(schema, body, "", extras);
      }
    } else if (requestBody?.required === true) {
      errors.push(`${operationId} requires a request body`);
    }
    return {
      valid: errors.length === 0,
      errors,
      unknownProperties: extras,
      ...(operationId ? { operationId } : {}),
    };
  }

  return { validateResponse, validateRequest, templateFor, operation };
}
export type ContractValidator = ReturnType<typeof createContractValidator>;

let defaultValidator: ContractValidator | undefined;

/**
 * Checks a body against the spec at `specPath()` (loaded once). Throws when the spec is absent: callers
 * that may run without it should use `loadSpec()` and skip.
 */
export function validateResponse(method: string, path: string, status: number, body: unknown): ResponseCheck {
  if (!defaultValidator) {
    const spec = loadSpec();
    if (!spec) throw new Error(`MX OpenAPI spec not found at ${specPath()} (set MX_OPENAPI_SPEC)`);
    defaultValidator = createContractValidator(spec);
  }
  return defaultValidator.validateResponse(method, path, status, body);
}
