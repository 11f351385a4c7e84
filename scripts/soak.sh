#!/usr/bin/env bash
# Runs proxyd under load and abuse on loopback and checks that it stays correct and gives back what
# it takes (descriptors, memory, threads): the scenarios of integration/cmd/soak, in order, each
# against a fresh proxyd with backends served by the soak program itself. Prints one PASS/FAIL line
# per scenario with its figures and exits non-zero when any failed. Every load is bounded in count
# and time; proxyd's logs and each scenario's output stay in the work directory printed at the end.
#
#   bash scripts/soak.sh [soak-duration]          (default 5m; the whole run takes about 5 min more)
#   SCENARIOS="many faults" bash scripts/soak.sh  (a subset, in the order given)
#   PROXYD=/path/to/proxyd bash scripts/soak.sh   (a prebuilt binary instead of building ./proxyd)
#
# Sizes (defaults in brackets): SOAK_CONNS [9000] and SOAK_REQUESTS [10] for many; SOAK_HOSTILE [200]
# clients per kind and SOAK_NORMAL [10] well-behaved ones for hostile; SOAK_FAULTS [20] requests per
# fault; SOAK_FD_LIMIT [200] and SOAK_FD_EXTRA [400] for fdlimit; SOAK_SHUTDOWN_CONNS [200] and
# SOAK_SHUTDOWN_SLOW [50] for shutdown; SOAK_H2_CONNS [64], SOAK_H2_STREAMS [32] and SOAK_H2_REQUESTS
# [50] per stream for h2; SOAK_SOAK_CONNS [100] and SOAK_RATE [1000 req/s] for soak.
#
# Scenarios: many (9,000 concurrent keep-alive connections, mixed routes), hostile (slowloris,
# stalled bodies, unread responses, half-open and silent clients), faults (backends that refuse,
# reset at every stage, stay silent, close idle connections), fdlimit (proxyd under ulimit -n 200),
# shutdown (SIGTERM under load), h2 (HTTP/2 connections with many streams each, GETs, POSTs and
# streams the client resets), h2held (HTTP/2 bodies that wait in proxyd: an upload an h2c backend
# takes slowly, 250 answers a client never reads), soak (steady mixed load, resource growth).
set -uo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH
DUR=${1:-5m}
ulimit -n 20000 || { echo "soak: cannot raise the open-file limit to 20000" >&2; exit 1; }

WORK=$(mktemp -d /tmp/proxyd-soak.XXXXXX)
if [ -n "${PROXYD:-}" ]; then
  cp "$PROXYD" "$WORK/proxyd" || exit 1
else
  go build -o "$WORK/proxyd" ./proxyd || { echo "FAIL build: proxyd does not build"; exit 1; }
fi
(cd integration && go build -o "$WORK/soak" ./cmd/soak) || { echo "FAIL build: the soak program does not build"; exit 1; }

echo "proxyd soak: $(nproc) cores, soak ${DUR}, $(date -u +%FT%TZ), work dir $WORK"
status=0
: > "$WORK/summary"
for s in ${SCENARIOS:-many hostile faults fdlimit shutdown h2 h2held soak}; do
  case $s in
    many)     args=(-conns "${SOAK_CONNS:-9000}" -requests "${SOAK_REQUESTS:-10}") ;;
    hostile)  args=(-hostile "${SOAK_HOSTILE:-200}" -normal "${SOAK_NORMAL:-10}") ;;
    faults)   args=(-faults "${SOAK_FAULTS:-20}") ;;
    fdlimit)  args=(-fd-limit "${SOAK_FD_LIMIT:-200}" -fd-extra "${SOAK_FD_EXTRA:-400}") ;;
    shutdown) args=(-shutdown-conns "${SOAK_SHUTDOWN_CONNS:-200}" -shutdown-slow "${SOAK_SHUTDOWN_SLOW:-50}") ;;
    h2)       args=(-h2-conns "${SOAK_H2_CONNS:-64}" -h2-streams "${SOAK_H2_STREAMS:-32}" -requests "${SOAK_H2_REQUESTS:-50}") ;;
    h2held)   args=() ;;
    soak)     args=(-duration "$DUR" -soak-conns "${SOAK_SOAK_CONNS:-100}" -rate "${SOAK_RATE:-1000}") ;;
    *) echo "FAIL $s: no such scenario" | tee -a "$WORK/summary"; status=1; continue ;;
  esac
  echo "== $s"
  "$WORK/soak" -scenario "$s" -proxyd "$WORK/proxyd" -log-dir "$WORK" "${args[@]}" 2>&1 | tee "$WORK/$s.out"
  code=${PIPESTATUS[0]}
  grep -E "^(PASS|FAIL) $s:" "$WORK/$s.out" >> "$WORK/summary" || echo "FAIL $s: exited with status $code and no verdict" >> "$WORK/summary"
  [ "$code" -eq 0 ] || status=1
done

echo "== summary (logs in $WORK)"
cat "$WORK/summary"
exit "$status"
