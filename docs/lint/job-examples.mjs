/**
 * Redocly lint plugin: the jobs in examples must be as strict as the spec means.
 *
 * `Job` is `allOf` [PartialJob, ...], and the built-in rules do not close an
 * `allOf` against unknown properties, so a misspelt `create_at` in a job
 * passes. `job-known-properties` reports every property of a job in an
 * example that the job schema (option `jobSchema`) does not name. (A result of
 * the wrong shape for its job's `type` needs no rule here: the spec's
 * `if`/`then` conditions on `PartialJob` make the built-in example rules see it.)
 *
 * A job in an example is any object, at any depth, with a string `type` and a
 * string `status`: a job, each job of a page, the `data` of a webhook event.
 */

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
        'job-known-properties': JobKnownProperties,
      },
    },
  };
}
