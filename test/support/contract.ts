// The contract as data, for the tests that must follow it rather than today's list of operations:
// every operation (method, path, parameters, body, responses) read from openapi/tasks-api.yaml, and
// an Ajv 2020 validator over it that shares nothing with the server's express-openapi-validator.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { bundle, createConfig } from '@redocly/openapi-core';
import { parse } from 'yaml';
import { contractPath } from '../../src/contract.ts';

export type JsonSchema = Record<string, unknown>;
type Json = Record<string, any>;

export type ContractParameter = {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  readonly schema: JsonSchema;
  /** The parameter's documented example, when it has one. */
  readonly example?: unknown;
};

export type ContractResponse = {
  readonly headers: Readonly<Record<string, { readonly required: boolean; readonly schema: JsonSchema }>>;
  /** Media type → JSON pointer (into the contract) of its schema. */
  readonly content: Readonly<Record<string, string>>;
};

export type ContractOperation = {
  readonly operationId: string;
  readonly method: string;
  readonly path: string;
  readonly isPublic: boolean;
  readonly parameters: readonly ContractParameter[];
  /** JSON pointer of the application/json request body schema, when there is a body. */
  readonly requestBody?: { readonly required: boolean; readonly schemaPointer: string };
  readonly responses: Readonly<Record<string, ContractResponse>>;
};

export const contract: Json = parse(readFileSync(contractPath, 'utf8'));

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

// The contract with every `$ref` replaced by what it points to, by Redocly's own resolver (the one
// `make lint` runs): the operations below and the Ajv schemas are read from it, so no code here
// follows references by hand. JSON pointers into it are pointers into this resolved document.
const { bundle: resolvedDocument } = await bundle({ ref: contractPath, config: await createConfig({}), dereference: true });
const resolved: Json = resolvedDocument.parsed;

/** The node at a JSON pointer of the resolved contract. */
export function schemaAt(pointer: string): JsonSchema {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node: Json, key) => node[key], resolved);
}

function operationsOf(): ContractOperation[] {
  const operations: ContractOperation[] = [];
  for (const [path, pathItem] of Object.entries<Json>(resolved.paths)) {
    for (const method of methods) {
      const operation: Json | undefined = pathItem[method];
      if (!operation) continue;
      const base = `/paths/${escape(path)}/${method}`;
      const parameters = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((parameter: Json) => {
        const example = parameter.example ?? Object.values<Json>(parameter.examples ?? {})[0]?.value ?? parameter.schema?.example;
        return { name: parameter.name, in: parameter.in, required: parameter.required === true, schema: parameter.schema, ...(example === undefined ? {} : { example }) };
      });
      let requestBody: ContractOperation['requestBody'];
      if (operation.requestBody) {
        requestBody = { required: operation.requestBody.required === true, schemaPointer: `${base}/requestBody/content/application~1json/schema` };
      }
      const responses: Record<string, ContractResponse> = {};
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        const headers: Record<string, { required: boolean; schema: JsonSchema }> = {};
        for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
          headers[name.toLowerCase()] = { required: header.required === true, schema: header.schema };
        }
        const content: Record<string, string> = {};
        for (const mediaType of Object.keys(response.content ?? {})) {
          content[mediaType] = `${base}/responses/${status}/content/${escape(mediaType)}/schema`;
        }
        responses[status] = { headers, content };
      }
      const security = operation.security ?? contract.security ?? [];
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        isPublic: security.length === 0,
        parameters,
        ...(requestBody ? { requestBody } : {}),
        responses,
      });
    }
  }
  return operations;
}

/** Every operation in the contract, in document order. */
export const contractOperations: readonly ContractOperation[] = operationsOf();

// The whole resolved contract is registered as one schema document, so a JSON pointer into it names
// a schema; OpenAPI 3.1 schemas are JSON Schema 2020-12. Not strict: the contract's
// `example` keywords are annotations Ajv does not know.
const contractId = 'https://tasks-api.invalid/openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ ...resolved, $id: contractId });

const compiled = new Map<string, ValidateFunction>();

/** An Ajv validator for the schema at a JSON pointer of the contract. */
export function validatorAt(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `${contractId}#${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}

/** An Ajv validator for a schema of the resolved contract (a parameter's, a header's): it has no `$ref`s left. */
export function validatorFor(schema: JsonSchema): ValidateFunction {
  return ajv.compile(schema);
}

export type ResponseCheck = { readonly status: number; readonly headers: Headers; readonly body: string };

/**
 * Everything wrong with a response according to the contract: an undocumented status, a media
 * type the operation does not declare, a missing or malformed required header, a body that is not
 * the schema. Empty when the response conforms.
 */
export function contractViolations(operation: ContractOperation, response: ResponseCheck): string[] {
  const documented = operation.responses[String(response.status)] ?? operation.responses.default;
  if (!documented) return [`status ${response.status} is not documented for ${operation.operationId}`];
  const violations: string[] = [];
  for (const [name, header] of Object.entries(documented.headers)) {
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) violations.push(`required header ${name} is missing`);
      continue;
    }
    const validate = validatorFor(header.schema);
    if (!validate(value)) violations.push(`header ${name}: ${ajv.errorsText(validate.errors)}`);
  }
  const mediaTypes = Object.keys(documented.content);
  if (mediaTypes.length === 0) {
    if (response.body !== '') violations.push(`status ${response.status} documents no body, got ${response.body.slice(0, 200)}`);
    return violations;
  }
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const mediaType = mediaTypes.find((candidate) => candidate === contentType);
  if (!mediaType) return [...violations, `content-type ${contentType || '(none)'} is not one of ${mediaTypes.join(', ')}`];
  let body: unknown = response.body;
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      body = JSON.parse(response.body);
    } catch {
      return [...violations, `the ${mediaType} body is not JSON: ${response.body.slice(0, 200)}`];
    }
  }
  const validate = validatorAt(documented.content[mediaType]!);
  if (!validate(body)) violations.push(`body: ${ajv.errorsText(validate.errors)}`);
  return violations;
}

export type ContractProblemType = { readonly status: number; readonly title: string; readonly description: string };

/** The contract's problem types (the ProblemType schema), by slug: what a problem of each must carry. */
export const contractProblemTypes: ReadonlyMap<string, ContractProblemType> = new Map(
  (contract.components.schemas.ProblemType.oneOf as Json[]).map((entry) => [
    String(entry.const).replace(/^\/problems\//, ''),
    { status: entry['x-status'], title: entry.title, description: entry.description },
  ]),
);
