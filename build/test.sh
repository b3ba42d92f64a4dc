#!/usr/bin/env bash
# Runs every ObservaCost test on a fresh machine with the .NET SDK: installs the real servers the tests start
# (InfluxDB 1.x, VictoriaMetrics and PostgreSQL 15 from Debian), the chart tools (npm), the browser the web tests drive (chromium)
# and the PDF report's font and page renderer, builds the solution and runs all tests, then prints one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb influxdb-client)
[ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
# node and npm: the chart tests' tools (build/install-tools.sh) come from the npm registry and run under node.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
# The web overview's browser tests drive Debian's chromium through Playwright (never a downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The PDF report: its font (DejaVu Sans) and pdftoppm/pdftotext, which the report tests render and read pages with.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# prometheus (and promtool): PrometheusScrapeTests scrapes a host's /metrics with the real server; the test starts
# its own on a free loopback port (RUNLEVEL=1 keeps the package's service from starting at install).
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  $SUDO apt-get update -qq
  # The packages' own services are not needed: tests start their servers on free loopback ports.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# helm, kubernetes-models and yaml for tests/ObservaCost.Deployment.Tests, into build/.tools (idempotent).
bash build/install-tools.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
dotnet build ObservaCost.sln -c Release -nologo -v quiet -clp:ErrorsOnly

results="TestResults"
rm -rf "$results"
status=0
dotnet test ObservaCost.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?

# One closing line for the whole run: "N passed, N failed, N skipped".
passed=0; failed=0; total=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); p=${p:-0}
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p'); f=${f:-0}
  t=$(echo "$counters" | sed -n 's/.*<Counters total="\([0-9]*\)".*/\1/p'); t=${t:-0}
  passed=$((passed + p)); failed=$((failed + f)); total=$((total + t))
done
skipped=$((total - passed - failed))
echo "Tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$total" -eq 0 ]; then echo "No test ran."; exit 1; fi
exit $status
