#!/usr/bin/env bash
# Measures proxyd's peak memory under a burst of HTTP/2 streams that find no backend connection to
# take them: bench.sh's scenario (e) load (h2load, 16 connections x 16 streams) for 2 s, to the h2c
# backend bench.sh uses (integration/cmd/h2cbackend). Such streams wait for the connection's dial,
# or for the probe of the backend's protocol, without a goroutine each (README.md, HTTP/2
# behaviour); a burst of goroutines shows here as a higher peak. Two cases:
#
#   MODE=restart (default): one proxyd, warmed by one request, and the backend restarted before
#     each round, so that each burst waits for the dial of a new backend connection (as after a
#     backend connection closed for idleness, upstream.MaxIdleTime).
#   MODE=cold: proxyd and the backend started afresh for each round, the burst their first traffic,
#     so that it waits for the probe too.
#
# Per round: proxyd's peak RSS in the round (VmHWM, reset at the round's start through
# /proc/PID/clear_refs), the peak of its anonymous memory (RssAnon, read every 20 ms during the
# burst) and h2load's completed requests; then the medians. Loopback only; every burst is bounded by
# h2load's duration.
#
#   bash scripts/h2-burst-memory.sh [rounds]            (default 4)
#   MODE=cold bash scripts/h2-burst-memory.sh 3
#   PROXYD_BIN=/tmp/proxyd-old bash scripts/h2-burst-memory.sh   (another build in proxyd's place)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh
ROUNDS=${1:-4}
MODE=${MODE:-restart}
case $MODE in
  restart | cold) ;;
  *) echo "h2-burst-memory: MODE must be restart or cold, not $MODE" >&2; exit 2 ;;
esac
need h2load nghttp2-client

WORK=$(mktemp -d /tmp/proxyd-h2burst.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

BACKEND=127.0.0.1:18781 PORT=18790
proxy_binary "$WORK/proxyd" "${PROXYD_BIN:-}"

# stop PID: ends the process PID started here and waits for it.
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# backend_up: starts the h2c backend of scenario (e), sets BACKEND_PID, and waits until it answers.
backend_up() { start_backend e "$WORK" $BACKEND $BACKEND; }

# proxyd_up: starts proxyd in front of the backend, sets PROXYD_PID, and waits until it listens,
# without a request.
proxyd_up() {
  GOMAXPROCS=$(nproc) "$WORK/proxyd" 127.0.0.1:$PORT $BACKEND --log-level=warn 2>>"$WORK/proxyd.log" & PIDS+=($!)
  PROXYD_PID=$!
  wait_listen $PROXYD_PID 127.0.0.1:$PORT
}

# status_kb FIELD: FIELD of proxyd's /proc/PID/status, in KiB.
status_kb() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$PROXYD_PID/status"; }

# burst: one burst through proxyd; prints its peak RSS, peak anonymous memory (KiB) and requests.
burst() {
  echo 5 >"/proc/$PROXYD_PID/clear_refs" # VmHWM starts again from the current RSS
  "${H2LOAD[@]}" -D 2 "http://127.0.0.1:$PORT/" >"$WORK/h2load.out" 2>&1 &
  local load=$! anon=0 a
  while kill -0 $load 2>/dev/null; do
    a=$(status_kb RssAnon)
    [ "$a" -le "$anon" ] || anon=$a
    sleep 0.02
  done
  wait $load
  echo "$(status_kb VmHWM) $anon $(requests <"$WORK/h2load.out")"
}

backend_up
if [ "$MODE" = restart ]; then
  proxyd_up
  curl -fso /dev/null --http2-prior-knowledge "http://127.0.0.1:$PORT/" # the probe, done once
fi
hwms=() anons=()
for r in $(seq "$ROUNDS"); do
  if [ "$MODE" = restart ]; then
    stop "$BACKEND_PID"
    backend_up
  else
    [ "$r" = 1 ] || { stop "$PROXYD_PID"; stop "$BACKEND_PID"; backend_up; }
    proxyd_up
  fi
  read -r hwm anon n <<<"$(burst)"
  printf 'round %d  peak RSS %s KiB  peak anonymous %s KiB  requests %s\n' "$r" "$hwm" "$anon" "$n"
  hwms+=("$hwm") anons+=("$anon")
done
echo "mode $MODE, $ROUNDS rounds: median peak RSS $(median %.0f "${hwms[@]}") KiB, median peak anonymous\
 $(median %.0f "${anons[@]}") KiB"
