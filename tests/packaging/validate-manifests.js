// Validates Kubernetes manifests offline against the Kubernetes API's OpenAPI schemas, as the
// API server would: every object's fields and types (the schemas of kubernetes-models, pinned
// in package.json) and, like `kubectl apply`'s strict field validation, no field the schema
// does not know (a misspelt `readOnlyRootFilesystem` is an error, not silently dropped).
//   node validate-manifests.js [--json OUT.json] FILE.yaml...   (- for stdin; multi-document YAML)
// --json writes the objects read as one JSON array (for the test's own assertions).
// Prints one line per object and exits 1 when any object is invalid. Run by
// tests/packaging/test_kubernetes.py on the rendered kustomizations and on every manifest.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

// The schema's validate function runs on a proxy that records which fields it looked at:
// the generated validators read every property their schema declares (and every key of a
// map), so a field of the object that was never read is one the schema does not have.
function tracked(value, seen) {
  if (value === null || typeof value !== "object") return value;
  const keys = new Set();
  seen.set(value, keys);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") keys.add(key);
      return tracked(Reflect.get(target, key, receiver), seen);
    },
    has(target, key) {
      if (typeof key === "string") keys.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === "string") keys.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}

function unknownFields(value, seen, path, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, seen, `${path}/${i}`, out));
    return;
  }
  const read = seen.get(value);
  for (const key of Object.keys(value)) {
    if (read === undefined || !read.has(key)) out.push(`${path}/${key}`);
    else unknownFields(value[key], seen, `${path}/${key}`, out);
  }
}

// The Kubernetes API's own kinds, and the Prometheus Operator's (PodMonitor) from its CRDs.
function modelFor(doc) {
  if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") return null;
  const pkg = doc.apiVersion.startsWith("monitoring.coreos.com/") ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  try {
    const mod = require(`${pkg}/${doc.apiVersion}/${doc.kind}`);
    return mod[doc.kind] || null;
  } catch (e) {
    return null;
  }
}

// Returns the problems of one object (empty when valid).
function validateObject(doc) {
  const model = modelFor(doc);
  if (model === null) return [`unknown apiVersion/kind ${doc.apiVersion}/${doc.kind}`];
  const problems = [];
  const seen = new Map();
  try {
    // Model.prototype.validate checks `this` with the schema's validate function.
    model.prototype.validate.call(tracked(doc, seen));
  } catch (e) {
    problems.push(...String(e.message).split(", "));
  }
  const unknown = [];
  unknownFields(doc, seen, "", unknown);
  for (const u of unknown) problems.push(`${u}: unknown field`);
  return problems;
}

function main(args) {
  let jsonOut = null;
  if (args[0] === "--json") {
    jsonOut = args[1];
    args = args.slice(2);
  }
  const files = args;
  const all = [];
  let objects = 0;
  let failed = 0;
  for (const file of files) {
    const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
    for (const d of YAML.parseAllDocuments(text)) {
      if (d.errors.length > 0) {
        console.log(`${file}: YAML: ${d.errors.map((e) => e.message).join("; ")}`);
        failed++;
        continue;
      }
      const doc = d.toJS();
      if (doc === null || doc === undefined) continue;
      objects++;
      all.push(doc);
      const name = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
      const problems = validateObject(doc);
      if (problems.length === 0) {
        console.log(`${file}: ${name}: valid`);
      } else {
        failed++;
        for (const p of problems) console.log(`${file}: ${name}: ${p}`);
      }
    }
  }
  if (jsonOut !== null) fs.writeFileSync(jsonOut, JSON.stringify(all));
  console.log(`${objects} objects, ${failed} invalid`);
  return failed === 0 && objects > 0 ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
module.exports = { validateObject };
