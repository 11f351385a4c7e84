#!/usr/bin/env bash
# Runs h2spec, the HTTP/2 conformance suite, against proxyd on loopback in front of a tiny h2c
# backend (integration/cmd/h2cbackend), and fails when fewer cases pass than min_passed. h2spec is
# installed with `go install` when it is missing.
#
#   bash scripts/h2spec.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# min_passed is the number of h2spec's 145 cases proxyd passes (h2spec v2.2.1, default timeout): all.
min_passed=145
h2spec_version=v2.2.1+incompatible

h2spec=$(command -v h2spec || true)
if [ -z "$h2spec" ]; then
  echo "h2spec: installing github.com/summerwind/h2spec/cmd/h2spec@$h2spec_version"
  go install "github.com/summerwind/h2spec/cmd/h2spec@$h2spec_version"
  h2spec="$(go env GOPATH)/bin/h2spec"
fi

dir=$(mktemp -d /tmp/proxyd-h2spec.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/proxyd" ./proxyd
(cd integration && go build -o "$dir/h2cbackend" ./cmd/h2cbackend)

# wait_for prints the first match of the extended regular expression $2 in file $1, waiting up to
# 10 s for it to appear.
wait_for() {
  local file=$1 pattern=$2 match
  for _ in $(seq 100); do
    match=$(grep -oE "$pattern" "$file" | head -1 || true)
    if [ -n "$match" ]; then
      echo "$match"
      return 0
    fi
    sleep 0.1
  done
  echo "h2spec: no line matching '$pattern' in $file:" >&2
  cat "$file" >&2
  return 1
}

"$dir/h2cbackend" -addr 127.0.0.1:0 >"$dir/backend.log" 2>&1 &
pids+=($!)
backend=$(wait_for "$dir/backend.log" '127\.0\.0\.1:[0-9]+')
"$dir/proxyd" 127.0.0.1:0 "$backend" >"$dir/proxyd.log" 2>&1 &
pids+=($!)
listen=$(wait_for "$dir/proxyd.log" 'msg=listening addr=127\.0\.0\.1:[0-9]+')
port=${listen##*:}

"$h2spec" -h 127.0.0.1 -p "$port" >"$dir/h2spec.out" 2>&1 || true
summary=$(grep -E '^[0-9]+ tests, [0-9]+ passed' "$dir/h2spec.out" || true)
passed=$(echo "$summary" | sed -nE 's/^[0-9]+ tests, ([0-9]+) passed.*/\1/p')
if [ -z "$passed" ] || [ "$passed" -lt "$min_passed" ]; then
  sed -n '/^Failures:/,$p' "$dir/h2spec.out"
  echo "h2spec: FAIL: ${summary:-no summary}; want at least $min_passed passed"
  exit 1
fi
echo "h2spec: ok: $summary (at least $min_passed wanted)"
