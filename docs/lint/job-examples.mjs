/**
 * Redocly lint plugin: the jobs in examples must be as strict as the spec means.
 *
 * Two gaps of the built-in example validation, both caused by shapes the spec
 * needs for forward compatibility, are closed here for examples only:
 *
 * - `result` is `anyOf` the known result schemas *or* an open object (for job
 *   types added later). The open branch accepts any object, so an extract
 *   result whose `confidence` is a string passes. `job-result-matches-type`
 *   validates the result of every job in an example against the schema that
 *   its `type` names (option `resultSchemas`).
 * - `Job` is `allOf` [PartialJob, ...], and the built-in rules do not close an
 *   `allOf` against unknown properties, so a misspelt `create_at` in a job
 *   passes. `job-known-properties` reports every property of a job in an
 *   example that the job schema (option `jobSchema`) does not name.
 *
 * A job in an example is any object, at any depth, with a string `type` and a
 * string `status`: a job, each job of a page, the `data` of a webhook event.
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

/** Return the node of `document` at a local JSON pointer such as `#/a/b`. */
function atPointer(document, pointer) {
  let node = document;
  for (const part of pointer.replace(/^#\//, '').split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
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
  if (typeof value.type === 'string' && typeof value.status === 'string') {
    // A job holds no jobs; its `result.fields` may hold keys named like a job's.
    yield [path, value];
    return;
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

/** Build a rule that runs `checkJob` on every job inside every example. */
function jobExampleRule(prepare, checkJob) {
  return (options) => {
    let state;

    function check(value, location, ctx) {
      for (const [path, job] of jobsIn(value)) {
        checkJob(state, job, path, (message, where) =>
          ctx.report({ message, location: location.child(where) }),
        );
      }
    }

    return {
      Root: {
        enter(root) {
          state = prepare(root, options ?? {});
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
  };
}

const JobResultMatchesType = jobExampleRule(
  (root, { resultSchemas = {} }) => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(ajv);
    const schemas = structuredClone(root.components?.schemas ?? {});
    closeObjects(schemas);
    ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas } });
    const validators = new Map();
    for (const [jobType, pointer] of Object.entries(resultSchemas)) {
      validators.set(jobType, {
        pointer,
        validate: ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` }),
      });
    }
    return validators;
  },
  (validators, job, path, report) => {
    const known = validators.get(job.type);
    if (known === undefined || job.result === null || job.result === undefined) {
      return;
    }
    if (known.validate(job.result)) {
      return;
    }
    for (const error of known.validate.errors ?? []) {
      const where = [...path, 'result', ...segments(error.instancePath)];
      if (error.keyword === 'additionalProperties') {
        // Point at the unknown property itself, not at the object holding it.
        where.push(error.params.additionalProperty);
      }
      report(
        `Example of a job of type \`${job.type}\`: \`${where.join('.')}\` ` +
          `${error.message} (${known.pointer}).`,
        where,
      );
    }
  },
);

const JobKnownProperties = jobExampleRule(
  (root, { jobSchema }) => {
    const schema = jobSchema ? atPointer(root, jobSchema) : undefined;
    if (!schema?.properties) {
      throw new Error(`job-known-properties: no schema with properties at ${jobSchema}`);
    }
    return { pointer: jobSchema, names: new Set(Object.keys(schema.properties)) };
  },
  ({ pointer, names }, job, path, report) => {
    for (const name of Object.keys(job)) {
      if (!names.has(name)) {
        report(
          `Example of a job: \`${[...path, name].join('.')}\` is not a property ` +
            `of a job (${pointer}).`,
          [...path, name],
        );
      }
    }
  },
);

export default function qomplementPlugin() {
  return {
    id: 'qomplement',
    rules: {
      oas3: {
        'job-result-matches-type': JobResultMatchesType,
        'job-known-properties': JobKnownProperties,
      },
    },
  };
}
