#!/usr/bin/env bash
# Shows where a proxy's CPU goes under one load of bench.sh: proxyd's, and nginx's under the same
# load. For each: the system calls by name, the context switches and the CPU time per request
# (perf stat), the shares of its CPU in the kernel's socket calls, in its scheduler and in its own
# code (perf record), and its hottest functions. README.md's Measuring section and
# scripts/bench/NOTES.md read their figures this way. Loopback only; every load is bounded by its
# duration.
#
#   bash scripts/profile.sh [seconds]        (scenario a, 5 s a load)
#   SCENARIO=b bash scripts/profile.sh       (a, b, d or e; in e proxyd alone: nginx reaches the
#                                             h2c backend over HTTP/1.1, a different exchange)
#   TOP=30 bash scripts/profile.sh           (how many functions to list; default 15)
#   PROXYD_FLAGS=--no-ring-loops bash scripts/profile.sh   (proxyd with further flags)
#   PROXYD_BIN=/tmp/evloop bash scripts/profile.sh
#                                            (another program with proxyd's command line in its
#                                             place, e.g. scripts/evloop)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh
DUR=${1:-5}
SCENARIO=${SCENARIO:-a}
TOP=${TOP:-15}
PROCS=$(nproc)
need perf linux-perf
case $SCENARIO in
  a | b | d) need wrk wrk; need nginx nginx-light ;;
  e) need h2load nghttp2-client ;;
  *) echo "profile: SCENARIO must be a, b, d or e, not $SCENARIO" >&2; exit 2 ;;
esac

WORK=$(mktemp -d /tmp/proxyd-profile.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

BACKEND_A=127.0.0.1:18581 BACKEND_B=127.0.0.1:18582 PORT_PROXYD=18590 PORT_NGINX=18591
proxy_binary "$WORK/proxyd" "${PROXYD_BIN:-}"
start_backend "$SCENARIO" "$WORK" $BACKEND_A $BACKEND_B

bench_routes $BACKEND_A $BACKEND_B
# shellcheck disable=SC2086 # PROXYD_FLAGS is a list of words
GOMAXPROCS=$PROCS "$WORK/proxyd" 127.0.0.1:$PORT_PROXYD $BACKEND_A "${ROUTE_FLAGS[@]}" \
  --log-level=warn ${PROXYD_FLAGS:-} 2>"$WORK/proxyd.log" & PIDS+=($!)
PROXYD_PID=$!
wait_http $PROXYD_PID 127.0.0.1:$PORT_PROXYD "${CURL_OPT[@]}"
CANDIDATES=proxyd
if [ "$SCENARIO" != e ]; then
  nginx_proxy_conf "$WORK" "$PROCS" $PORT_NGINX $BACKEND_A $BACKEND_B >"$WORK/nginx.conf"
  nginx -c "$WORK/nginx.conf" -e "$WORK/nginx.err" & PIDS+=($!)
  wait_http $! 127.0.0.1:$PORT_NGINX
  CANDIDATES="proxyd nginx"
fi

# The system calls counted by name: those of an HTTP exchange, of a connection's start and end, of
# waiting (the poller, the Go runtime's threads) and of splicing.
CALLS="read readv recvfrom recvmsg write writev sendto sendmsg splice ppoll poll epoll_wait epoll_pwait
  epoll_ctl futex nanosleep accept4 close shutdown setsockopt getsockopt getsockname io_uring_enter"
EVENTS=task-clock,context-switches,raw_syscalls:sys_enter
for c in $CALLS; do EVENTS+=,syscalls:sys_enter_$c; done

# The kernel's and runtime's functions whose inclusive share of the CPU perf record reports: the
# socket calls, waiting in poll(2) and epoll, futexes, the kernel's switching of tasks, the ring
# loops' io_uring_enter(2) with its submissions and the completions it runs, and the Go scheduler,
# its monitor thread (sysmon), its allocation and its collector.
SHARES="ksys_write do_writev ksys_read __sys_recvfrom __sys_recvmsg __sys_sendto do_sys_poll
  do_epoll_wait __x64_sys_futex finish_task_switch.isra.0 __do_sys_io_uring_enter io_submit_sqes
  __io_run_local_work runtime.schedule runtime.findRunnable runtime.sysmon runtime.mallocgc
  runtime.gcBgMarkWorker"

# pids NAME: the processes of candidate NAME.
pids() { if [ "$1" = proxyd ]; then echo $PROXYD_PID; else nginx_workers "$WORK"; fi; }

# port NAME: the port candidate NAME listens on.
port() { if [ "$1" = proxyd ]; then echo $PORT_PROXYD; else echo $PORT_NGINX; fi; }

for c in $CANDIDATES; do
  p=$(pids "$c" | paste -sd,)
  load_cmd "$SCENARIO" "$(port "$c")" 1
  "${LOAD[@]}" >/dev/null # warm
  load_cmd "$SCENARIO" "$(port "$c")" "$DUR"
  n=$(perf stat -x, -o "$WORK/stat" -e "$EVENTS" -p "$p" -- "${LOAD[@]}" | requests)
  echo "== $c, scenario $SCENARIO: $n requests in $DUR s, per request:"
  awk -F, -v n="$n" 'function put(s) { if (w + length(s) > 98) { printf "\n"; w = 0 } printf "  %s", s; w += length(s) + 2 }
    $1 ~ /^[0-9.]+$/ && $1 > 0 {
      name = $3; sub("syscalls:sys_enter_", "", name); sub("raw_syscalls:sys_enter", "system calls", name)
      if (name == "task-clock") put(sprintf("CPU %.1f us", $1 * 1000 / n)); else put(sprintf("%s %.2f", name, $1 / n))
    } END { print "" }' "$WORK/stat"
  perf record -q -g -o "$WORK/perf.data" -p "$p" -- "${LOAD[@]}" >/dev/null 2>&1
  echo "  share of its CPU, inclusive:"
  perf report -i "$WORK/perf.data" --children --sort sym -g none 2>/dev/null |
    awk -v want="$SHARES" 'BEGIN { split(want, w, /[ \n]+/); for (i in w) if (w[i] != "") keep[w[i]] = 1 }
      $1 ~ /%$/ && ($NF in keep) { printf "    %-28s %s\n", $NF, $1 }'
  perf report -i "$WORK/perf.data" --no-children --sort dso -g none 2>/dev/null |
    awk '$1 ~ /%$/ && k++ < 3 { printf "    in %-25s %s\n", $2, $1 }'
  echo "  hottest functions, exclusive:"
  perf report -i "$WORK/perf.data" --no-children --sort dso,sym -g none 2>/dev/null |
    awk -v top="$TOP" '$1 ~ /%$/ && k++ < top { printf "    %6s  %s\n", $1, $NF }'
done
