#!/usr/bin/env bash
# Measures proxyd against nginx and HAProxy (Debian's packages) and against the backend reached
# directly, one scenario at a time with the candidates interleaved, on loopback only. Every load run
# is bounded by wrk's duration. Prints requests/s, p99 latency, proxy CPU per request and peak RSS,
# and the ratios to nginx, HAProxy and the direct backend.
#
#   bash scripts/bench.sh [seconds-per-run] [rounds]      (defaults: 10 s, 1 round)
#   SCENARIOS="a d" bash scripts/bench.sh                 (a subset)
#
# Scenarios: a) keep-alive small GET, 64 connections; b) a new TCP connection per request;
# c) one 256 MiB download; d) keep-alive, path alternating between two routes (wrong-backend count).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
ROUNDS=${2:-1}

need() { command -v "$1" >/dev/null || { echo "bench: installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk; need nginx nginx-light; need haproxy haproxy

WORK=$(mktemp -d /tmp/proxyd-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers read the big file
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

BACKEND_A=127.0.0.1:18081 BACKEND_B=127.0.0.1:18082
PORT_PROXYD=18090 PORT_NGINX=18091 PORT_HAPROXY=18092
go build -o "$WORK/proxyd" ./proxyd
head -c $((256 << 20)) /dev/zero > "$WORK/big"

# The backends: nginx serving a small body, naming itself and echoing the target, plus the big file.
cat > "$WORK/backend.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/backend.pid; error_log $WORK/backend.err;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  server { listen $BACKEND_A; location / { add_header X-Backend a; add_header X-Uri \$request_uri; return 200 "hello from a\n"; }
           location = /big { root $WORK; rewrite ^ /big break; } }
  server { listen $BACKEND_B; location / { add_header X-Backend b; add_header X-Uri \$request_uri; return 200 "hello from b\n"; } }
}
CONF
nginx -c "$WORK/backend.conf" -e "$WORK/backend.err" & PIDS+=($!)

cat > "$WORK/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  upstream a { server $BACKEND_A; keepalive 128; }
  upstream b { server $BACKEND_B; keepalive 128; }
  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_request_buffering off;
  server { listen 127.0.0.1:$PORT_NGINX;
    location / { proxy_pass http://a; }
    location /b/ { proxy_pass http://b; }
    location /a/ { proxy_pass http://a; } }
}
CONF
nginx -c "$WORK/nginx.conf" -e "$WORK/nginx.err" & PIDS+=($!)

cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
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
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & PIDS+=($!)

"$WORK/proxyd" 127.0.0.1:$PORT_PROXYD $BACKEND_A -r /a=$BACKEND_A -r /b=$BACKEND_B --log-level=warn 2>"$WORK/proxyd.log" & PIDS+=($!)
PROXYD_PID=$!

for addr in $BACKEND_A $BACKEND_B 127.0.0.1:$PORT_NGINX 127.0.0.1:$PORT_HAPROXY 127.0.0.1:$PORT_PROXYD; do
  for _ in $(seq 100); do curl -fso /dev/null "http://$addr/" && break; sleep 0.1; done
done

# Worker process of a candidate, for CPU and memory figures.
proc_of() {
  case $1 in
    proxyd) echo "$PROXYD_PID" ;;
    nginx) pgrep -P "$(cat "$WORK/nginx.pid")" | head -1 ;;
    haproxy) pgrep -f "haproxy -f $WORK/haproxy.cfg" | head -1 ;;
    direct) pgrep -P "$(cat "$WORK/backend.pid")" | head -1 ;;
  esac
}
port_of() { case $1 in proxyd) echo $PORT_PROXYD;; nginx) echo $PORT_NGINX;; haproxy) echo $PORT_HAPROXY;; direct) echo 18081;; esac; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

run() { # scenario candidate -> "reqs/s p99 cpu_us_per_req wrong"
  local s=$1 c=$2 port; port=$(port_of "$c")
  local pid; pid=$(proc_of "$c"); local t0; t0=$(cpu_ticks "$pid")
  local out
  case $s in
    a) out=$(wrk -t2 -c64 -d"${DUR}s" --latency "http://127.0.0.1:$port/") ;;
    b) out=$(wrk -t2 -c16 -d"${DUR}s" --latency -H "Connection: close" "http://127.0.0.1:$port/") ;;
    c) local start end; start=$(date +%s.%N)
       curl -fso /dev/null "http://127.0.0.1:$port/big" || { echo failed; return; }; end=$(date +%s.%N)
       echo "$(echo "scale=3; 256 / 1024 / ($end - $start)" | bc) GiB/s"; return ;;
    d) if [ "$c" = direct ]; then echo "-"; return; fi
       out=$(wrk -t2 -c64 -d"${DUR}s" --latency -s scripts/bench/check.lua "http://127.0.0.1:$port/") ;;
  esac
  local t1; t1=$(cpu_ticks "$pid")
  local rps p99 reqs wrong
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  wrong=$(awk '/^WRONG/ {print $2}' <<<"$out")
  [ -n "$reqs" ] || { echo failed; return; }
  local cpu; cpu=$(echo "scale=1; ($t1 - $t0) * 10000 / $reqs" | bc)  # ticks are 10 ms
  echo "$rps req/s p99=$p99 cpu=${cpu}us/req${wrong:+ wrong=$wrong}"
}

echo "proxyd bench: ${DUR}s per run, $ROUNDS round(s), $(nproc) cores, $(date -u +%FT%TZ)"
for s in ${SCENARIOS:-a b c d}; do
  for r in $(seq "$ROUNDS"); do
    for c in direct proxyd nginx haproxy; do
      printf '%s round %d %-8s %s\n' "$s" "$r" "$c" "$(run "$s" "$c")"
    done
  done
done
for c in proxyd nginx haproxy; do
  pid=$(proc_of "$c")
  echo "peak RSS $c: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
done
