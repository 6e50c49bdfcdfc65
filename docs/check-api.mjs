// Checks the API descriptions Herald serves, and fails (exit 1) with every problem it finds:
// - asyncapi.yaml with AsyncAPI's own parser, which validates against the official AsyncAPI 3.0
//   JSON Schema (@asyncapi/specs) and AsyncAPI's rules, resolving each $ref into schemas/;
// - openapi.yaml against the OpenAPI Initiative's 3.1 schema (@seriousme/openapi-schema-validator
//   ships it), with schemas/ registered so that every $ref must resolve;
// - every example in either document against the schema it illustrates, so an example cannot
//   show a frame or body that Herald would not send or accept.
import { Parser, fromFile } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = dirname(fileURLToPath(import.meta.url));
const problems = [];
const ajv = new Ajv2020({ strict: false, allErrors: true });
let examples = 0;

function checkExample(where, schema, example) {
  examples++;
  const validate = ajv.compile(withoutSchemaKeyword(schema));
  if (!validate(example)) {
    problems.push(`${where}: the example does not fit its schema: ${ajv.errorsText(validate.errors)}`);
  }
}

// A schema inlined from schemas/ keeps its "$schema"; Ajv takes that keyword only at a root.
function withoutSchemaKeyword(schema) {
  if (Array.isArray(schema)) return schema.map(withoutSchemaKeyword);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key !== '$schema') copy[key] = withoutSchemaKeyword(value);
  }
  return copy;
}

// AsyncAPI
const { document, diagnostics } = await fromFile(new Parser(), join(docs, 'asyncapi.yaml')).parse();
for (const d of diagnostics) {
  // 0 error, 1 warning; 2 (information) is only the advice that AsyncAPI 3.1 exists.
  if (d.severity <= 1) problems.push(`asyncapi.yaml ${d.path.join('.')}: ${d.message}`);
}
if (document) {
  for (const message of document.allMessages()) {
    const all = message.examples().all();
    if (all.length === 0) problems.push(`asyncapi.yaml message ${message.id()}: has no example`);
    all.forEach((example, i) => checkExample(`asyncapi.yaml message ${message.id()} example ${i + 1}`,
      message.payload().json(), example.payload()));
  }
}

// OpenAPI
const validator = new Validator();
for (const file of readdirSync(join(docs, 'schemas'))) {
  await validator.addSpecRef(JSON.parse(readFileSync(join(docs, 'schemas', file), 'utf8')), `schemas/${file}`);
}
const result = await validator.validate(join(docs, 'openapi.yaml'));
if (!result.valid) {
  problems.push(`openapi.yaml: ${typeof result.errors === 'string' ? result.errors : JSON.stringify(result.errors, null, 2)}`);
} else if (validator.version !== '3.1') {
  problems.push(`openapi.yaml: is OpenAPI ${validator.version}, not 3.1`);
} else {
  (function visit(node, path) {
    if (node === null || typeof node !== 'object') return;
    if (node.schema && typeof node.schema === 'object') {
      if ('example' in node) checkExample(`openapi.yaml ${path}`, node.schema, node.example);
      for (const [name, example] of Object.entries(node.examples ?? {})) {
        checkExample(`openapi.yaml ${path} example ${name}`, node.schema, example.value);
      }
    }
    for (const [key, value] of Object.entries(node)) visit(value, `${path}/${key}`);
  })(validator.resolveRefs(), '#');
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`asyncapi.yaml (AsyncAPI ${document.version()}) and openapi.yaml (OpenAPI ${validator.version}) are valid; ${examples} examples fit their schemas`);
