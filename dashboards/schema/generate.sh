#!/usr/bin/env bash
# Regenerates dashboard.schema.json: the JSON Schema of Grafana's dashboard model, made from the TypeScript types of the
# npm package @grafana/schema with ts-json-schema-generator (plain tsc-based generators report false errors on the
# enum strings), then relaxed by relax.mjs only where Grafana accepts more (dashboards/README.md lists each relaxation).
# Needs node and npm; installs into a temporary folder, never into the repository.
set -euo pipefail
cd "$(dirname "$0")"
GRAFANA_SCHEMA_VERSION=13.2.3
GENERATOR_VERSION=2.9.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  npm init -y >/dev/null
  npm install --silent --no-audit --no-fund --ignore-scripts "@grafana/schema@${GRAFANA_SCHEMA_VERSION}" "ts-json-schema-generator@${GENERATOR_VERSION}" >/dev/null
  npx --no-install ts-json-schema-generator \
    --path node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts \
    --type Dashboard --no-type-check --out generated.json
)
GRAFANA_SCHEMA_VERSION=$GRAFANA_SCHEMA_VERSION GENERATOR_VERSION=$GENERATOR_VERSION node relax.mjs "$work/generated.json" dashboard.schema.json
echo "wrote $(pwd)/dashboard.schema.json"
