#!/usr/bin/env bash
# Static checks of every TypeScript source (frontend, server, CLI, tests, benchmarks): types, lint rules
# (import boundaries, React hooks) and formatting. Writes REPORT as {"check": passed?}; .ci/summarize.py
# counts each check as one test. A failing check prints what it found.
set -uo pipefail
report=$1
declare -A checks=(
  [typescript]="npx tsc -p tsconfig.test.json"
  [eslint]="npx eslint src server-proxy bench ui-tests/tests ui-tests/cluster-tests"
  [prettier]="npm run --silent lint"
)
json="{"
for name in typescript eslint prettier; do
  if out=$(${checks[$name]} 2>&1); then
    ok=true
  else
    ok=false
    printf '%s failed:\n%s\n' "$name" "$out"
  fi
  json+="\"$name\": $ok,"
done
printf '%s}\n' "${json%,}" > "$report"
