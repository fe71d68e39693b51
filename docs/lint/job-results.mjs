/**
 * Redocly lint plugin: examples of jobs must carry the result their type names.
 *
 * The spec types `result` as `anyOf` the known result schemas *or* an open
 * object (so that clients survive job types added later). That open branch
 * accepts any object, so the built-in example validation passes an extract
 * result whose `confidence` is a string. This rule closes that gap for
 * examples only: it finds every job-shaped value inside an example (an object
 * with a `type` and an object `result`) and validates `result` against the
 * schema that `resultSchemas` maps the job's type to.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const DOCUMENT_ID = 'urn:qomplement:openapi';

/** Close every object schema that lists properties but says nothing of others. */
function closeObjects(node) {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
    return;
  }
  if (node === null || typeof node !== 'object') {
    return;
  }
  // A misspelt property in an example is as wrong as a wrong type, and the
  // built-in rules run with allowAdditionalProperties: false for the same reason.
  if (
    node.properties &&
    node.additionalProperties === undefined &&
    node.unevaluatedProperties === undefined
  ) {
    node.additionalProperties = false;
  }
  Object.values(node).forEach(closeObjects);
}

/** Compile one validator per job type from the whole document's schemas. */
function compileValidators(document, resultSchemas) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  const schemas = structuredClone(document.components?.schemas ?? {});
  closeObjects(schemas);
  ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas } });
  const validators = new Map();
  for (const [jobType, pointer] of Object.entries(resultSchemas)) {
    validators.set(jobType, ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` }));
  }
  return validators;
}

/** Yield [path, job] for every job-shaped object inside an example value. */
function* jobsIn(value, path = []) {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      yield* jobsIn(item, [...path, index]);
    }
    return;
  }
  if (value === null || typeof value !== 'object') {
    return;
  }
  if (typeof value.type === 'string' && value.result && typeof value.result === 'object') {
    yield [path, value];
  }
  for (const [key, child] of Object.entries(value)) {
    yield* jobsIn(child, [...path, key]);
  }
}

/** Turn an Ajv instance path (`/a/0/b`) into location segments. */
function segments(instancePath) {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function JobResultMatchesType(options) {
  const resultSchemas = options?.resultSchemas ?? {};
  let validators = new Map();

  function check(value, location, ctx) {
    for (const [path, job] of jobsIn(value)) {
      const validate = validators.get(job.type);
      if (validate === undefined || validate(job.result)) {
        continue;
      }
      for (const error of validate.errors ?? []) {
        const where = [...path, 'result', ...segments(error.instancePath)];
        if (error.keyword === 'additionalProperties') {
          // Point at the unknown property itself, not at the object holding it.
          where.push(error.params.additionalProperty);
        }
        ctx.report({
          message:
            `Example of a job of type \`${job.type}\`: \`${where.join('.')}\` ` +
            `${error.message} (${resultSchemas[job.type]}).`,
          location: location.child(where),
        });
      }
    }
  }

  return {
    Root: {
      enter(root) {
        validators = compileValidators(root, resultSchemas);
      },
    },
    Example: {
      enter(example, ctx) {
        check(example.value, ctx.location.child(['value']), ctx);
      },
    },
    MediaType: {
      enter(mediaType, ctx) {
        check(mediaType.example, ctx.location.child(['example']), ctx);
      },
    },
  };
}

export default function qomplementPlugin() {
  return {
    id: 'qomplement',
    rules: {
      oas3: {
        'job-result-matches-type': JobResultMatchesType,
      },
    },
  };
}
