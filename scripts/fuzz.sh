#!/usr/bin/env bash
# Runs every fuzz target of the fuzz module, and those kept beside the code they fuzz (wire's field
# editing; proxyd's HTTP/1.x engine on ring loops against goroutines, --forwarded head editing,
# HTTP/2 header blocks, connection engine and h2c client), one after the other, for a bounded time
# each, and prints one summary line per target (status, executions, new corpus entries, crasher).
# Fails if any target fails (a run that Go's fuzzing coordinator ends with its own deadline error,
# no input having failed, is not a failure: see deadlineRace). New crashers land in
# testdata/fuzz/<Target>/ of the target's package as go test writes them: a failing input stays
# there, and from then on `go test` replays it.
# Every input that widens the coverage is minimised before it joins the corpus, for at most
# MINIMIZE (default 500ms, -fuzzminimizetime) rather than Go's 60 s: a slow target's worker
# otherwise spends whole runs minimising (FuzzChunked made 11,735 executions in 20 s, all in its
# first 3 s, against 168,330 with 2 s; in 15 s FuzzRingLoops found 25 and 24 new inputs with 500ms
# against 9 and 7 with 2 s, interleaved). A crasher is written whether or not its minimising is
# done.
#
#   bash scripts/fuzz.sh [duration]     (default 30s per target; any -fuzztime value, e.g. 2m, 500000x)
#   MINIMIZE=10s bash scripts/fuzz.sh 5m
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-30s}
MINIMIZE=${MINIMIZE:-500ms}
# The packages with fuzz targets, as module-dir:package.
PACKAGES=(fuzz:. wire:. proxyd:./internal/engine proxyd:./internal/forwarded proxyd:./internal/h2conn proxyd:./internal/h2 proxyd:./internal/h2upstream)

targets=() # module-dir:package:target
for p in "${PACKAGES[@]}"; do
  while read -r t; do targets+=("$p:$t"); done < <(cd "${p%%:*}" && go test -list '^Fuzz' "${p#*:}" | grep '^Fuzz')
done
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

# seconds converts a Go duration as the fuzzer prints it ("1h2m3s", "45s") to whole seconds.
seconds() {
  local d=$1 total=0 n unit
  while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
    n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
    case $unit in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
  done
  echo "$total"
}

# deadlineRace reports whether the run logged in $1 failed only by a race in Go's fuzzing
# coordinator (golang/go#75804, fixed in Go 1.27): the -fuzztime deadline escapes as the target's
# failure, "context deadline exceeded" and nothing else, with no failing input written. No input
# failed then; any other failure, or a written input, is a failure.
deadlineRace() {
  ! grep -q 'Failing input written' "$1" &&
    [ "$(awk '/^--- FAIL: /{f=1; next} f && /^    /{print} /^(FAIL|exit status)/{f=0}' "$1")" = "    context deadline exceeded" ]
}

log=$(mktemp /tmp/proxyd-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT

status=0
summaries=()
for entry in "${targets[@]}"; do
  dir=${entry%%:*} rest=${entry#*:}
  pkg=${rest%%:*} target=${rest#*:}
  echo "== $target ($dir/${pkg#./}): fuzzing for $DURATION"
  note=
  if (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$DURATION" -fuzzminimizetime "$MINIMIZE" "$pkg") >"$log" 2>&1; then
    result=ok
  elif deadlineRace "$log"; then
    result=ok note=" (stopped by Go's fuzz deadline race, golang/go#75804: no input failed)"
  else
    result=FAIL
    status=1
    cat "$log"
  fi
  # The last progress line holds the totals: "fuzz: elapsed: 30s, execs: 123 (4/sec), new interesting: 5 (total: 9)".
  progress=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$progress")
  elapsed=$(sed -nE 's/^fuzz: elapsed: ([^,]+),.*/\1/p' <<<"$progress")
  interesting=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$progress")
  crasher=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$log" | tail -n 1)
  secs=$(seconds "${elapsed:-0s}")
  line=$(printf '%-30s %-4s execs=%s elapsed=%s execs/s=%s new-interesting=%s' "$target" "$result" \
    "${execs:-0}" "${elapsed:-0s}" "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "${interesting:-0}")
  [ -n "$crasher" ] && line+=" crasher=$dir/${pkg#./}/$crasher"
  line+=$note
  summaries+=("$line")
  echo "$line"
done

echo "== fuzz summary ($DURATION per target)"
printf '%s\n' "${summaries[@]}"
exit "$status"
