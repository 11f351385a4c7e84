#!/usr/bin/env bash
# Measures proxyd against nginx and HAProxy (Debian's packages) and against the backend reached
# directly, one scenario at a time with the candidates interleaved, their order rotating from round
# to round so that none always runs first (of two runs back to back, the first was often 5-15%
# faster on this machine), on loopback only. Every load run is bounded by wrk's or h2load's
# duration. Prints requests/s, p50 and p99 latency, the proxy's and the backend's CPU per request,
# peak RSS, and the ratios to nginx, HAProxy and the direct backend.
#
#   bash scripts/bench.sh [seconds-per-run] [rounds]      (defaults: 10 s, 1 round)
#   SCENARIOS="a d" bash scripts/bench.sh                 (a subset)
#   OPS=1 bash scripts/bench.sh                           (also proxyd with its operating features)
#   OPS=1 OPS_FLAGS=--forwarded bash scripts/bench.sh     (... with some of them; metrics are
#                                                          "--admin-addr 127.0.0.1:18098")
#   PROXYD_FLAGS=--no-ring-loops bash scripts/bench.sh    (proxyd with further flags)
#   PROXYD_BIN=/tmp/evloop SCENARIOS="a b d" bash scripts/bench.sh
#                                                         (another program with proxyd's command
#                                                          line in its place, e.g. scripts/evloop)
#
# Scenarios: a) keep-alive small GET, 64 connections; b) a new TCP connection per request; c) three
# 256 MiB downloads, one after another (the CPU per download); d) keep-alive, path alternating
# between two routes (wrong-backend count); e) HTTP/2 cleartext with prior knowledge (RFC 9113
# §3.3): h2load, 16 connections x 16 concurrent streams, small GET, to an h2c backend
# (integration/cmd/h2cbackend) that proxyd and HAProxy reach over h2c and nginx over HTTP/1.1 (it
# cannot proxy HTTP/2); nginx's workers and HAProxy's threads are as many as proxyd's GOMAXPROCS. In
# every scenario the candidates get the same cores: proxyd runs with GOMAXPROCS=PROCS (default:
# nproc), nginx with as many workers (reuseport spreads the connections over them), HAProxy with as
# many threads. PROCS=1 shows the cost per request without scheduler effects; on a machine of two
# cores or more it also pins each candidate to core 0 and the backends and the load to the others
# (taskset), so that nothing else runs on the candidate's core. With OPS=1 a second proxyd,
# "proxyd-ops", runs in scenarios a-d with its routes from --routes-file and OPS_FLAGS (default:
# metrics on --admin-addr, scraped once a second during each run, and --forwarded), and the ratios
# line gives proxyd-ops/proxyd: what the features cost.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh
DUR=${1:-10}
ROUNDS=${2:-1}
SCENARIOS=${SCENARIOS:-a b c d e}
DOWNLOADS=3 # scenario (c)'s downloads per run
PROCS=${PROCS:-$(nproc)}
OPS=${OPS:-0}
# With PROCS=1, the candidates run on core 0 alone, the backends and the load on the other cores.
PIN_PROXY=() PIN_REST=()
if [ "$PROCS" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  PIN_PROXY=(taskset -c 0) PIN_REST=(taskset -c "1-$(($(nproc) - 1))")
fi

need wrk wrk; need nginx nginx-light; need haproxy haproxy; need h2load nghttp2-client

WORK=$(mktemp -d /tmp/proxyd-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

BACKEND_A=127.0.0.1:18081 BACKEND_B=127.0.0.1:18082
PORT_PROXYD=18090 PORT_NGINX=18091 PORT_HAPROXY=18092
proxy_binary "$WORK/proxyd" "${PROXYD_BIN:-}"

# start_failed: the tails of the logs, when a process did not start; exits.
start_failed() { tail -n 3 "$WORK"/*.log "$WORK"/*.err >&2 || true; exit 1; }
# ready PID ADDR [curl option]...: wait_http, or start_failed.
ready() { wait_http "$@" || start_failed; }

# The backends: nginx serving a small body, naming itself and echoing the target, plus the big file.
start_backend c "$WORK" $BACKEND_A $BACKEND_B || start_failed
ready $BACKEND_PID $BACKEND_B

nginx_proxy_conf "$WORK" "$PROCS" $PORT_NGINX $BACKEND_A $BACKEND_B >"$WORK/nginx.conf"
"${PIN_PROXY[@]}" nginx -c "$WORK/nginx.conf" -e "$WORK/nginx.err" & PIDS+=($!)
NGINX_PID=$!

# The global and default sections of both HAProxy configurations.
HAPROXY_COMMON="global
  nbthread $PROCS
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always"

cat > "$WORK/haproxy.cfg" <<CONF
$HAPROXY_COMMON
frontend f
  bind 127.0.0.1:$PORT_HAPROXY
  option http-keep-alive
  use_backend b if { path_beg /b/ }
  default_backend a
backend a
  server a $BACKEND_A
backend b
  server b $BACKEND_B
CONF
"${PIN_PROXY[@]}" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & PIDS+=($!)
HAPROXY_PID=$!

bench_routes $BACKEND_A $BACKEND_B
# shellcheck disable=SC2086 # PROXYD_FLAGS is a list of words
GOMAXPROCS=$PROCS "${PIN_PROXY[@]}" "$WORK/proxyd" 127.0.0.1:$PORT_PROXYD $BACKEND_A "${ROUTE_FLAGS[@]}" \
  --log-level=warn ${PROXYD_FLAGS:-} 2>"$WORK/proxyd.log" & PIDS+=($!)
PROXYD_PID=$!
CANDIDATES="direct proxyd nginx haproxy"
PORT_OPS=18097 PORT_ADMIN=18098
if [ "$OPS" = 1 ]; then
  printf '%s\n' "${ROUTES[@]}" >"$WORK/routes"
  # shellcheck disable=SC2086 # OPS_FLAGS is a list of words
  GOMAXPROCS=$PROCS "${PIN_PROXY[@]}" "$WORK/proxyd" 127.0.0.1:$PORT_OPS $BACKEND_A --routes-file "$WORK/routes" \
    ${OPS_FLAGS:---admin-addr 127.0.0.1:$PORT_ADMIN --forwarded} --log-level=warn 2>"$WORK/proxyd-ops.log" & PIDS+=($!)
  OPS_PID=$!
  CANDIDATES="direct proxyd proxyd-ops nginx haproxy"
fi

ready $NGINX_PID 127.0.0.1:$PORT_NGINX
ready $HAPROXY_PID 127.0.0.1:$PORT_HAPROXY
ready $PROXYD_PID 127.0.0.1:$PORT_PROXYD
[ "$OPS" != 1 ] || ready $OPS_PID 127.0.0.1:$PORT_OPS

# Scenario (e) has its own backend and candidates, so that their CPU and memory are the h2c load's.
# proxyd runs with GOMAXPROCS=PROCS; nginx gets as many workers (reuseport spreads the connections
# over them) and HAProxy as many threads.
H2C_BACKEND=127.0.0.1:18083
PORT_PROXYD_H2=18093 PORT_NGINX_H2=18094 PORT_HAPROXY_H2=18095
case " $SCENARIOS " in *" e "*)
  start_backend e "$WORK" $H2C_BACKEND || start_failed
  H2C_PID=$BACKEND_PID

  # nginx 1.22 serves h2c with `listen ... http2` and proxies over HTTP/1.1, one upstream connection
  # per concurrent stream: keepalive covers all 256 of them, and keepalive_requests keeps them open.
  cat > "$WORK/nginx-h2.conf" <<CONF
worker_processes $PROCS; daemon off; pid $WORK/nginx-h2.pid; error_log $WORK/nginx-h2.err;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  upstream h2c { server $H2C_BACKEND; keepalive 256; keepalive_requests 1000000; }
  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_request_buffering off;
  server { listen 127.0.0.1:$PORT_NGINX_H2 http2 reuseport; location / { proxy_pass http://h2c; } }
}
CONF
  "${PIN_PROXY[@]}" nginx -c "$WORK/nginx-h2.conf" -e "$WORK/nginx-h2.err" & PIDS+=($!)
  NGINX_H2_PID=$!

  cat > "$WORK/haproxy-h2.cfg" <<CONF
$HAPROXY_COMMON
frontend f
  bind 127.0.0.1:$PORT_HAPROXY_H2 proto h2
  default_backend h2c
backend h2c
  server h2c $H2C_BACKEND proto h2
CONF
  "${PIN_PROXY[@]}" haproxy -f "$WORK/haproxy-h2.cfg" -db >"$WORK/haproxy-h2.log" 2>&1 & PIDS+=($!)
  HAPROXY_H2_PID=$!

  GOMAXPROCS=$PROCS "${PIN_PROXY[@]}" "$WORK/proxyd" 127.0.0.1:$PORT_PROXYD_H2 $H2C_BACKEND --log-level=warn 2>"$WORK/proxyd-h2.log" & PIDS+=($!)
  PROXYD_H2_PID=$!

  # The first request through proxyd also makes it probe the backend and find h2c (README.md,
  # "HTTP/2 behaviour"), so the load runs go over h2c.
  ready $NGINX_H2_PID 127.0.0.1:$PORT_NGINX_H2 --http2-prior-knowledge
  ready $HAPROXY_H2_PID 127.0.0.1:$PORT_HAPROXY_H2 --http2-prior-knowledge
  ready $PROXYD_H2_PID 127.0.0.1:$PORT_PROXYD_H2 --http2-prior-knowledge ;;
esac

# backend_of scenario: the backend's process(es), whose CPU per request each run shows too: the
# rate is bounded by what the load, the proxy and the backend spend together on these cores, and a
# proxy's way of relaying changes the backend's share (and the load's: rest less backend).
backend_of() {
  if [ "$1" = e ]; then echo "$H2C_PID"; else backend_workers "$WORK"; fi
}
# Worker process(es) of a candidate in a scenario, for CPU and memory figures; the direct
# candidate's are the backend's.
proc_of() {
  if [ "$1" = direct ]; then
    backend_of "${2:-}"
    return
  fi
  if [ "${2:-}" = e ]; then
    case $1 in
      proxyd) echo "$PROXYD_H2_PID" ;;
      nginx) pgrep -P "$NGINX_H2_PID" ;;
      haproxy) echo "$HAPROXY_H2_PID" ;;
    esac
    return
  fi
  case $1 in
    proxyd) echo "$PROXYD_PID" ;;
    proxyd-ops) echo "$OPS_PID" ;;
    nginx) nginx_workers "$WORK" ;;
    haproxy) echo "$HAPROXY_PID" ;;
  esac
}
# backend_per B0 B1 N CANDIDATE: " backend=Xus/req", the backend's CPU ticks B0 to B1 over N
# requests; nothing for the direct candidate, which is the backend.
backend_per() { [ "$4" = direct ] || echo " backend=$(us_per "$1" "$2" "$3")us/req"; }
port_of() {
  if [ "${2:-}" = e ]; then
    case $1 in proxyd) echo $PORT_PROXYD_H2;; nginx) echo $PORT_NGINX_H2;; haproxy) echo $PORT_HAPROXY_H2;; direct) echo ${H2C_BACKEND##*:};; esac
    return
  fi
  case $1 in proxyd) echo $PORT_PROXYD;; proxyd-ops) echo $PORT_OPS;; nginx) echo $PORT_NGINX;; haproxy) echo $PORT_HAPROXY;; direct) echo 18081;; esac
}

run() { # scenario candidate -> "reqs/s p50 p99 cpu backend rest idle wrong" (e: mean and max, failed)
  local s=$1 c=$2 port; port=$(port_of "$c" "$s")
  local scraper=
  # A Prometheus server's scrapes during the wrk runs, bounded by the run (c's download is timed
  # alone, and returns before the scraper would be stopped).
  if [ "$c" = proxyd-ops ] && [ "$s" != c ] && [[ ${OPS_FLAGS:---admin-addr} == *--admin-addr* ]]; then
    (for _ in $(seq $((DUR + 2))); do curl -fso /dev/null "http://127.0.0.1:$PORT_ADMIN/metrics"; sleep 1; done) &
    scraper=$!
  fi
  local pids bpids; pids=$(proc_of "$c" "$s") bpids=$(backend_of "$s")
  local t0 b0 m0; t0=$(cpu_ticks $pids) b0=$(cpu_ticks $bpids) m0=$(machine_ticks)
  local out
  case $s in
    a) out=$("${PIN_REST[@]}" "${WRK_A[@]}" -d"${DUR}s" --latency "http://127.0.0.1:$port/") ;;
    b) out=$("${PIN_REST[@]}" "${WRK_B[@]}" -d"${DUR}s" --latency "http://127.0.0.1:$port/") ;;
    c) # DOWNLOADS one after another: one alone lasts a fifth of a second, too short to stand out
       # of this machine's noise. The CPU is per download.
       local start end t1; start=$(date +%s.%N)
       for _ in $(seq $DOWNLOADS); do
         "${PIN_REST[@]}" curl -fso /dev/null "http://127.0.0.1:$port/big" || { echo failed; return; }
       done
       end=$(date +%s.%N) t1=$(cpu_ticks $pids)
       local b1 m1; b1=$(cpu_ticks $bpids) m1=$(machine_ticks)
       echo "$(echo "scale=3; $DOWNLOADS * 256 / 1024 / ($end - $start)" | bc) GiB/s\
 cpu=$(us_per "$t0" "$t1" $DOWNLOADS)us/req$(backend_per "$b0" "$b1" $DOWNLOADS "$c")\
 $(rest "$m0" "$m1" "$t0" "$t1" $DOWNLOADS)"; return ;;
    d) if [ "$c" = direct ]; then echo "-"; return; fi
       out=$("${PIN_REST[@]}" "${WRK_A[@]}" -d"${DUR}s" --latency -s scripts/bench/check.lua "http://127.0.0.1:$port/") ;;
    e) # h2load prints no percentiles, only the mean and the maximum; its per-request log would
       # cost the client a write(2) per request, so scenario (e) shows those two instead.
       out=$(timeout $((DUR + 30)) "${PIN_REST[@]}" "${H2LOAD[@]}" -D "$DUR" "http://127.0.0.1:$port/") ||
         { echo failed; return; }
       local t1 b1 m1; t1=$(cpu_ticks $pids) b1=$(cpu_ticks $bpids) m1=$(machine_ticks)
       local rps reqs bad mean max
       rps=$(awk '/^finished in/ {print $4}' <<<"$out")
       mean=$(awk '/^time for request:/ {print $6}' <<<"$out")
       max=$(awk '/^time for request:/ {print $5}' <<<"$out")
       reqs=$(awk '/^requests:/ {print $6}' <<<"$out")  # done within the duration
       # h2load counts 4xx, 5xx and stream errors as failed, 3xx as succeeded; both are wrong here.
       bad=$(awk '/^requests:/ {n+=$10} /^status codes:/ {n+=$5} END {print n+0}' <<<"$out")
       [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { echo failed; return; }
       echo "$rps req/s mean=$mean max=$max cpu=$(us_per "$t0" "$t1" "$reqs")us/req$(backend_per "$b0" "$b1" "$reqs" "$c")\
 $(rest "$m0" "$m1" "$t0" "$t1" "$reqs")$([ "$bad" = 0 ] || echo " failed=$bad")"
       return ;;
  esac
  [ -z "$scraper" ] || kill "$scraper" 2>/dev/null || true
  local t1 b1 m1; t1=$(cpu_ticks $pids) b1=$(cpu_ticks $bpids) m1=$(machine_ticks)
  local rps p50 p99 reqs wrong
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  wrong=$(awk '/^WRONG/ {print $2}' <<<"$out")
  [ -n "$reqs" ] || { echo failed; return; }
  echo "$rps req/s p50=$p50 p99=$p99 cpu=$(us_per "$t0" "$t1" "$reqs")us/req$(backend_per "$b0" "$b1" "$reqs" "$c")\
 $(rest "$m0" "$m1" "$t0" "$t1" "$reqs")${wrong:+ wrong=$wrong}"
}

# rest M0 M1 T0 T1 N: what the rest of the machine (the load, the backends, anything else) spent
# per request while the candidate spent T1-T0, the whole machine M0 to M1 (machine_ticks), and the
# share of the machine left idle: "rest=X idle=Y%". The cores bound the rate: at R requests/s the
# candidate and the rest together spend cores x (1 - idle) / R per request, so a candidate that
# leaves little idle goes faster only by spending less, or by giving the rest less to do.
rest() {
  local b0 i0 b1 i1
  read -r b0 i0 <<<"$1"
  read -r b1 i1 <<<"$2"
  local busy=$((b1 - b0)) idle=$((i1 - i0))
  echo "rest=$(us_per 0 $((busy - ($4 - $3))) "$5")us/req idle=$((idle * 100 / (busy + idle)))%"
}

# ratio A B: A's first number over B's, or "-" when either has none.
ratio() {
  local a=${1%% *} b=${2%% *}
  [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]] && [ "$(echo "$b > 0" | bc)" = 1 ] || { echo -; return; }
  echo "scale=2; $a / $b" | bc | sed 's/^\./0./'
}
peak_rss_kb() { local p t=0; for p in "$@"; do t=$((t + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done; echo $t; }

# The raw rows of the run go to RESULTS (tab-separated) and the chart of their medians, relative to
# the better of nginx and HAProxy, to CHART (SVG, drawn by gnuplot from scripts/bench/chart.gp).
RESULTS=${RESULTS:-scripts/bench/results.tsv}
CHART=${CHART:-scripts/bench/chart.svg}
MACHINE="$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r),\
 $(go version | awk '{print $3}'), $(nginx -v 2>&1 | awk '{print $3}'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}'),\
 $(wrk -v 2>&1 | awk 'NR==1 {print $1, $2}'), h2load $(h2load --version | awk '{print $2}')"
{
  echo "# proxyd bench, $(date -u +%FT%TZ): ${DUR}s per run, $ROUNDS round(s), PROCS=$PROCS; $MACHINE"
  printf 'scenario\tround\tcandidate\tvalue\tunit\tp50\tp99\tcpu_us_per_req\trest_us_per_req\tidle_pct\tbackend_us_per_req\n'
} > "$RESULTS"
# row scenario round candidate result: appends one row of run's result to RESULTS.
row() {
  local value unit p50 p99 cpu rest idle backend
  read -r value unit _ <<<"$4"
  p50=$(grep -o 'p50=[^ ]*' <<<"$4" | cut -d= -f2 || true)
  p99=$(grep -o 'p99=[^ ]*' <<<"$4" | cut -d= -f2 || true)
  cpu=$(grep -o 'cpu=[0-9.]*' <<<"$4" | cut -d= -f2 || true)
  rest=$(grep -o 'rest=[0-9.-]*' <<<"$4" | cut -d= -f2 || true)
  idle=$(grep -o 'idle=[0-9]*' <<<"$4" | cut -d= -f2 || true)
  backend=$(grep -o 'backend=[0-9.]*' <<<"$4" | cut -d= -f2 || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$value" "$unit" "${p50:--}" "${p99:--}" "${cpu:--}" \
    "${rest:--}" "${idle:--}" "${backend:--}" >> "$RESULTS"
}

# rotate N WORD...: the words from the (N mod count)-th on, then those before it.
rotate() {
  local n=$(($1 % ($# - 1)))
  shift
  local words=("$@")
  echo "${words[@]:n}" "${words[@]:0:n}"
}

echo "proxyd bench: ${DUR}s per run, $ROUNDS round(s), PROCS=$PROCS, $(date -u +%FT%TZ)"
echo "machine: $MACHINE"
for s in $SCENARIOS; do
  for r in $(seq "$ROUNDS"); do
    declare -A res=()
    for c in $(rotate $((r - 1)) $CANDIDATES); do
      if [ "$c" = proxyd-ops ] && [ "$s" = e ]; then continue; fi
      res[$c]=$(run "$s" "$c")
      printf '%s round %d %-8s %s\n' "$s" "$r" "$c" "${res[$c]}"
      row "$s" "$r" "$c" "${res[$c]}"
    done
    printf '%s round %d %-8s %s\n' "$s" "$r" ratios "proxyd/nginx=$(ratio "${res[proxyd]}" "${res[nginx]}")\
 proxyd/haproxy=$(ratio "${res[proxyd]}" "${res[haproxy]}") proxyd/direct=$(ratio "${res[proxyd]}" "${res[direct]}")\
 nginx/haproxy=$(ratio "${res[nginx]}" "${res[haproxy]}") nginx/direct=$(ratio "${res[nginx]}" "${res[direct]}")\
$([ "$OPS" != 1 ] || echo " proxyd-ops/proxyd=$(ratio "${res[proxyd-ops]:-}" "${res[proxyd]}")")"
  done
done
for c in proxyd nginx haproxy; do
  pids=$(proc_of "$c")
  echo "peak RSS $c: $(peak_rss_kb $pids) kB$([ "$c" != nginx ] || echo " (sum of $PROCS workers)")"
done
case " $SCENARIOS " in *" e "*)
  for c in proxyd nginx haproxy; do
    pids=$(proc_of "$c" e)
    echo "peak RSS $c (e, h2c): $(peak_rss_kb $pids) kB$([ "$c" != nginx ] || echo " (sum of $PROCS workers)")"
  done ;;
esac

# The chart: per scenario, each proxy's median over the rounds divided by the better peer's.
awk -F'\t' '
  NR <= 2 || $4 !~ /^[0-9.]+$/ { next }
  { v[$1, $3] = v[$1, $3] " " $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  function median(list,   a, k, i, j, t) {
    k = split(list, a, " ")
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2
  }
  END {
    name["a"] = "a keep-alive"; name["b"] = "b new connection"; name["c"] = "c download"
    name["d"] = "d alternating"; name["e"] = "e h2c"
    for (i = 1; i <= n; i++) {
      s = order[i]; p = median(v[s, "proxyd"]); g = median(v[s, "nginx"]); h = median(v[s, "haproxy"])
      best = g > h ? g : h
      if (best > 0) printf "%s\t%.3f\t%.3f\t%.3f\n", name[s], p / best, g / best, h / best
    }
  }' "$RESULTS" > "$WORK/chart.tsv"
if need gnuplot gnuplot-nox; then
  SUBTITLE="$(date -u +%F), ${DUR} s x $ROUNDS rounds, PROCS=$PROCS of $(nproc) cores, $(go version | awk '{print $3}'),\
 $(nginx -v 2>&1 | awk '{print $3}'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}' | cut -d- -f1); medians over the rounds"
  gnuplot -e "data='$WORK/chart.tsv'; out='$CHART'; subtitle='$SUBTITLE'" scripts/bench/chart.gp
  echo "rows: $RESULTS; chart: $CHART"
fi
