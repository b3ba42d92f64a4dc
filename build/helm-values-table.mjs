// Generates the values table of helm/README.md from the `# --` comments in helm/observacost/values.yaml (helm-docs
// is not available here). Usage: node build/helm-values-table.mjs [--check] [--values FILE] [--readme FILE]
// Writes the table between the README's `<!-- values-table:start -->` and `<!-- values-table:end -->` markers;
// with --check writes nothing and exits 1 when the README's table differs from the comments, or when a value has no
// `# --` comment on itself or on a parent. Needs the yaml package in build/.tools (bash build/install-tools.sh).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const option = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const valuesPath = option("--values", join(repo, "helm", "observacost", "values.yaml"));
const readmePath = option("--readme", join(repo, "helm", "README.md"));
const YAML = (await import(pathToFileURL(join(repo, "build", ".tools", "node_modules", "yaml", "dist", "index.js")).href)).default;

const text = readFileSync(valuesPath, "utf8");
const values = YAML.parse(text);
const rows = [];
const documented = new Set();
const stack = []; // [{ indent, key }]
let doc = null;

for (const line of text.split("\n")) {
  const comment = /^(\s*)#\s?(.*)$/.exec(line);
  if (comment) {
    if (comment[2].startsWith("-- ")) {
      doc = comment[2].slice(3).trim();
    } else if (doc !== null) {
      doc += " " + comment[2].trim();
    }
    continue;
  }

  const entry = /^(\s*)([A-Za-z0-9_.\/-]+):(?:\s+(.*))?$/.exec(line);
  if (!entry) {
    if (line.trim() === "") doc = null;
    continue; // list items and block content
  }

  const indent = entry[1].length;
  while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
  stack.push({ indent, key: entry[2] });
  if (doc !== null) {
    const path = stack.map((s) => s.key);
    const value = path.reduce((node, key) => node?.[key], values);
    const type = Array.isArray(value) ? "list" : value === null ? "null" : typeof value === "object" ? "object" : Number.isInteger(value) ? "int" : typeof value;
    rows.push(`| \`${path.join(".")}\` | ${type} | \`${JSON.stringify(value).replaceAll("|", "\\|")}\` | ${doc.replaceAll("|", "\\|")} |`);
    documented.add(path.join("."));
    doc = null;
  }
}

// Every leaf must be documented itself or through a documented parent.
const undocumented = [];
(function walk(node, path) {
  if (documented.has(path.join("."))) return;
  if (node !== null && typeof node === "object" && !Array.isArray(node) && Object.keys(node).length > 0) {
    for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
  } else {
    undocumented.push(path.join("."));
  }
})(values, []);

const table = ["| key | type | default | description |", "|---|---|---|---|", ...rows].join("\n");
const readme = readFileSync(readmePath, "utf8");
const pattern = /(<!-- values-table:start -->)[\s\S]*?(<!-- values-table:end -->)/;
if (!pattern.test(readme)) {
  console.error(`${readmePath} has no <!-- values-table:start --> ... <!-- values-table:end --> markers.`);
  process.exit(1);
}

const updated = readme.replace(pattern, (_, start, end) => `${start}\n${table}\n${end}`);
if (undocumented.length > 0) {
  console.error(`values without a '# --' comment (on themselves or a parent): ${undocumented.join(", ")}`);
}

if (process.argv.includes("--check")) {
  if (updated !== readme) {
    console.error("helm/README.md's values table differs from the '# --' comments in values.yaml: run node build/helm-values-table.mjs");
    process.exit(1);
  }
  process.exit(undocumented.length > 0 ? 1 : 0);
}

writeFileSync(readmePath, updated);
console.log(`${rows.length} values documented in helm/README.md`);
process.exit(undocumented.length > 0 ? 1 : 0);
