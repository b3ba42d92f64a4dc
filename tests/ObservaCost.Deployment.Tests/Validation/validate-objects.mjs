// Validates every Kubernetes object in a rendered multi-document YAML file with the matching kubernetes-models class
// (`validate()`, the OpenAPI schema of Kubernetes 1.35 and the prometheus-operator CRDs).
// Usage: node validate-objects.mjs TOOLS_DIR RENDERED.yaml
// Prints one JSON line per object: {"apiVersion","kind","name","errors":[...],"object":{...}}; exits 1 when any object has errors,
// its kind has no model, or a document does not parse.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [tools, file] = process.argv.slice(2);
if (!tools || !file) {
  console.error("usage: node validate-objects.mjs TOOLS_DIR RENDERED.yaml");
  process.exit(2);
}

const modules = join(tools, "node_modules");
const YAML = (await import(pathToFileURL(join(modules, "yaml", "dist", "index.js")).href)).default;

// apiVersion "apps/v1" → kubernetes-models/apps/v1/Kind.js; "v1" → kubernetes-models/v1/Kind.js;
// monitoring.coreos.com → @kubernetes-models/prometheus-operator.
function modelPath(apiVersion, kind) {
  const root = apiVersion.startsWith("monitoring.coreos.com/")
    ? join(modules, "@kubernetes-models", "prometheus-operator")
    : join(modules, "kubernetes-models");
  return join(root, ...apiVersion.split("/"), `${kind}.js`);
}

let failed = false;
const documents = YAML.parseAllDocuments(readFileSync(file, "utf8"));
for (const document of documents) {
  if (document.errors.length > 0) {
    console.log(JSON.stringify({ errors: document.errors.map((e) => e.message) }));
    failed = true;
    continue;
  }

  const object = document.toJS();
  if (object === null || object === undefined) {
    continue;
  }

  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  const path = modelPath(String(apiVersion), String(kind));
  let errors = [];
  if (!existsSync(path)) {
    errors = [`no kubernetes-models class for ${apiVersion} ${kind}`];
  } else {
    const Model = (await import(pathToFileURL(path).href))[kind];
    try {
      new Model(object).validate();
    } catch (e) {
      errors = (e.errors ?? [e]).map((x) => `${x.instancePath ?? ""} ${x.message}`.trim());
    }
  }

  failed ||= errors.length > 0;
  console.log(JSON.stringify({ apiVersion, kind, name, errors, object }));
}

// exitCode, not process.exit(): exit() can cut off stdout still being written to a pipe (seen: a line cut at 4096 bytes).
process.exitCode = failed ? 1 : 0;
