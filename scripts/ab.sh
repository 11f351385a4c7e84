#!/usr/bin/env bash
# Compares two builds of proxyd under one load, one of bench.sh's or one of tunnels: (a)
# keep-alive small GETs, (b) a new connection per request, (d) keep-alive GETs alternating between
# bench.sh's two routes, each with wrk to an nginx backend, (c) 256 MiB downloads with curl, one
# after another, from that nginx, (e) h2load, 16 connections x 16 streams, small GET, to
# integration/cmd/h2cbackend, or (w) 8 tunnels opened by an upgrade, each
# echoing 64-byte messages a millisecond apart (integration/cmd/tunnelecho at both ends; a request
# is a message echoed). The two are interleaved round by round so that the machine's drift touches
# both alike, B first in every other round (of two runs back to back, the first was often 5-15%
# faster on this machine). Prints, per round, each build's rate (downloads for c), proxy CPU per
# request and the backend's (from /proc/PID/stat: a build may shift work onto the backend), their
# ratios B/A, and the medians of the ratios. Loopback only; every run is bounded by the load's
# duration (in c, the download under way when it ends finishes, and counts).
#
#   bash scripts/ab.sh REV_A [REV_B] [rounds] [seconds]   (REV_B defaults to the work tree;
#                                                        8 rounds of 3 s; scenario e)
#   SCENARIO=a bash scripts/ab.sh HEAD~1 HEAD             (scenario a, b, c, d, e or w)
#   A_ENV=GOMAXPROCS=1 bash scripts/ab.sh HEAD HEAD       (the same build, another setting:
#                                                        A_ENV and B_ENV, default GOMAXPROCS=2)
#   B_ARGS=--no-ring-loops bash scripts/ab.sh HEAD HEAD  (the same build with other flags: A_ARGS
#                                                        and B_ARGS, default none)
#   B_BIN=/tmp/evloop SCENARIO=a bash scripts/ab.sh HEAD  (B: another program with proxyd's
#                                                        command line, e.g. scripts/evloop; A_BIN
#                                                        likewise)
#   CONNS=4 SCENARIO=a bash scripts/ab.sh HEAD HEAD       (scenario a with another number of
#                                                        connections than bench.sh's 64, from one
#                                                        wrk thread below two)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh
REV_A=${1:?usage: bash scripts/ab.sh REV_A [REV_B] [rounds] [seconds]}
REV_B=${2:-}
ROUNDS=${3:-8}
DUR=${4:-3}
A_ENV=${A_ENV:-GOMAXPROCS=2} B_ENV=${B_ENV:-GOMAXPROCS=2}
A_ARGS=${A_ARGS:-} B_ARGS=${B_ARGS:-}
SCENARIO=${SCENARIO:-e}
if [ -n "${CONNS:-}" ]; then WRK_A=(wrk -t"$((CONNS < 2 ? 1 : 2))" -c"$CONNS"); fi
case $SCENARIO in
  a | b | d) need wrk wrk; need nginx nginx-light ;;
  c) need nginx nginx-light ;;
  e) need h2load nghttp2-client ;;
  w) ;;
  *) echo "ab: SCENARIO must be a, b, c, d, e or w, not $SCENARIO" >&2; exit 2 ;;
esac

WORK=$(mktemp -d /tmp/proxyd-ab.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  git worktree remove --force "$WORK/tree" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# build REV OUT [BIN]: BIN copied to OUT when given, else the static binary of REV (the work tree
# when REV is empty), as bench.sh builds it.
build() {
  if [ -z "$1" ] || [ -n "${3:-}" ]; then
    proxy_binary "$2" "${3:-}"
    return
  fi
  git worktree add -q --detach "$WORK/tree" "$1"
  (cd "$WORK/tree" && build_static "$2")
  git worktree remove --force "$WORK/tree"
}
build "$REV_A" "$WORK/proxyd-a" "${A_BIN:-}"
build "$REV_B" "$WORK/proxyd-b" "${B_BIN:-}"

BACKEND=127.0.0.1:18383 BACKEND_B=127.0.0.1:18384 PORT=18390
start_backend "$SCENARIO" "$WORK" $BACKEND $BACKEND_B
bench_routes $BACKEND $BACKEND_B
# The backend's process, or its nginx's worker, whose CPU per request each run shows too.
case $SCENARIO in
  e | w) BACKEND_PIDS=$BACKEND_PID ;;
  *) BACKEND_PIDS=$(backend_workers "$WORK") ;;
esac

# load SECONDS: the scenario's load on proxyd for SECONDS; prints how many requests were done.
load() {
  if [ "$SCENARIO" = c ]; then
    local n=0 end=$((SECONDS + $1))
    while ((SECONDS < end)); do curl -fso /dev/null "http://127.0.0.1:$PORT/big"; n=$((n + 1)); done
    echo $n
    return
  fi
  load_cmd "$SCENARIO" $PORT "$1"
  "${LOAD[@]}" | requests
}

# measure BIN ENV ARGS: one run of the load through BIN started with ENV and the flags ARGS; prints
# "req/s cpu_us_per_req backend_cpu_us_per_req".
measure() {
  # shellcheck disable=SC2086 # ENV is a list of assignments, ARGS one of flags
  env $2 "$1" 127.0.0.1:$PORT $BACKEND "${ROUTE_FLAGS[@]}" --log-level=warn $3 2>>"$WORK/proxyd.log" &
  local p=$!
  wait_http $p 127.0.0.1:$PORT "${CURL_OPT[@]}"
  load 1 >/dev/null # warm
  local t0 b0 s0 reqs s1 t1 b1
  t0=$(cpu_ticks $p) b0=$(cpu_ticks $BACKEND_PIDS) s0=$(date +%s.%N)
  reqs=$(load "$DUR")
  s1=$(date +%s.%N) t1=$(cpu_ticks $p) b1=$(cpu_ticks $BACKEND_PIDS)
  kill $p
  wait $p 2>/dev/null || true
  echo "$(awk -v n="$reqs" -v s0="$s0" -v s1="$s1" 'BEGIN { printf "%.1f", n / (s1 - s0) }') $(us_per "$t0" "$t1" "$reqs")\
 $(us_per "$b0" "$b1" "$reqs")"
}

rate_ratios=() cpu_ratios=() backend_ratios=()
# ratio A B: B/A to a hundredth.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
for r in $(seq "$ROUNDS"); do
  if ((r % 2)); then
    read -r ra ca ba < <(measure "$WORK/proxyd-a" "$A_ENV" "$A_ARGS")
    read -r rb cb bb < <(measure "$WORK/proxyd-b" "$B_ENV" "$B_ARGS")
  else
    read -r rb cb bb < <(measure "$WORK/proxyd-b" "$B_ENV" "$B_ARGS")
    read -r ra ca ba < <(measure "$WORK/proxyd-a" "$A_ENV" "$A_ARGS")
  fi
  rr=$(ratio "$ra" "$rb") cr=$(ratio "$ca" "$cb") br=$(ratio "$ba" "$bb")
  rate_ratios+=("$rr") cpu_ratios+=("$cr") backend_ratios+=("$br")
  printf 'round %d  A %6s req/s %5s us/req (backend %5s)  B %6s req/s %5s us/req (backend %5s)' \
    "$r" "$ra" "$ca" "$ba" "$rb" "$cb" "$bb"
  printf '  B/A rate %s cpu %s backend %s\n' "$rr" "$cr" "$br"
done
echo "scenario $SCENARIO  A: ${A_BIN:-$REV_A} ($A_ENV${A_ARGS:+ $A_ARGS})  B: ${B_BIN:-${REV_B:-work tree}} ($B_ENV${B_ARGS:+ $B_ARGS})"
echo "median B/A: rate $(median %.2f "${rate_ratios[@]}"), CPU per request $(median %.2f "${cpu_ratios[@]}"),\
 the backend's $(median %.2f "${backend_ratios[@]}")"
