# What the measuring scripts (bench.sh, ab.sh, idle-memory.sh, h2-burst-memory.sh, profile.sh)
# share. Sourced, from the repository's root, by scripts that set -euo pipefail.

# build_static OUT: proxyd built as the container image and a release ship it, static and without
# libc (README.md, Install).
build_static() { CGO_ENABLED=0 go build -trimpath -o "$1" ./proxyd; }

# proxy_binary OUT [BIN]: BIN copied to OUT when given, a program with proxyd's command line to
# measure in its place (such as scripts/evloop's), else build_static OUT.
proxy_binary() { if [ -n "${2:-}" ]; then cp "$2" "$1"; else build_static "$1"; fi; }

# need COMMAND PACKAGE: installs PACKAGE from Debian's archive when COMMAND is missing.
need() {
  command -v "$1" >/dev/null && return
  echo "installing $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# wait_ready PID ADDR COMMAND...: waits up to WAIT_SECONDS (default 10) for process PID to listen on
# ADDR's port and for COMMAND to succeed then, and fails when PID exits first or the time is up. A
# server whose port was taken exits at start, and whatever holds the port must not be measured in
# its place.
wait_ready() {
  local pid=$1 addr=$2 seconds=${WAIT_SECONDS:-10}
  shift 2
  need ss iproute2
  for _ in $(seq $((seconds * 10))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before it was ready on $addr" >&2
      return 1
    fi
    ss -Hltnp "sport = :${addr##*:}" | grep -q "pid=$pid," && "$@" && return
    sleep 0.1
  done
  echo "process $pid not ready on $addr within $seconds s" >&2
  return 1
}

# wait_http PID ADDR [curl option]...: wait_ready for PID to answer GET / on ADDR.
wait_http() { wait_ready "$1" "$2" curl -fso /dev/null "${@:3}" "http://$2/"; }

# wait_listen PID ADDR: wait_ready for PID to listen on ADDR, with no request made.
wait_listen() { wait_ready "$1" "$2" true; }

# median FORMAT VALUE...: the median of the VALUEs, printed with printf's FORMAT.
median() {
  local fmt=$1
  shift
  printf '%s\n' "$@" | sort -n |
    awk -v fmt="$fmt" '{v[NR] = $1} END { printf fmt, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# cpu_ticks PID...: the CPU time the processes have used, user and system, in 10 ms ticks.
cpu_ticks() {
  local p t=0
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
  echo $t
}

# machine_ticks: the whole machine's CPU time since boot, over all cores, in 10 ms ticks: busy
# (user, nice, system, irq and softirq) and idle (idle and iowait), on one line.
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $5 + $6; exit}' /proc/stat; }

# us_per T0 T1 N: microseconds per request of the CPU ticks from T0 to T1 (cpu_ticks) over N
# requests, to a tenth.
us_per() { echo "scale=1; ($2 - $1) * 10000 / $3" | bc; } # ticks are 10 ms

# big_file DIR: DIR/big, scenario (c)'s 256 MiB body, which nginx's workers can read.
big_file() {
  chmod 755 "$1"
  head -c $((256 << 20)) /dev/zero >"$1/big"
}

# H2LOAD is scenario (e)'s load without its duration and target: h2load, 16 connections x 16
# concurrent streams, one thread.
H2LOAD=(h2load -c16 -m16 -t1)

# WRK_A and WRK_B are scenarios (a) and (b)'s loads without duration and target: wrk, two threads,
# 64 keep-alive connections; 16 connections, each closed after its request.
WRK_A=(wrk -t2 -c64)
WRK_B=(wrk -t2 -c16 -H "Connection: close")

# TUNNEL_LOAD is scenario (w)'s load without duration and target, the flags of the tunnelecho that
# start_backend builds (TUNNELECHO): 8 tunnels (as WebSocket connections are), each sending a
# 64-byte message, reading its echo and pausing a millisecond, again and again; a proxy that relays
# that is mostly idle.
TUNNEL_LOAD=(-c 8 -size 64 -every 1ms)

# start_backend SCENARIO DIR ADDR_A ADDR_B: starts the backend of scenario a to e, behind the
# command prefix PIN_REST if set (bench.sh's taskset), and waits until it answers on ADDR_A:
# integration/cmd/h2cbackend for e, integration/cmd/tunnelecho for w (whose load it is too: built as
# DIR/tunnelecho, set in TUNNELECHO), else nginx with backend_conf (with DIR/big for c). Its process
# is added to PIDS and set in BACKEND_PID; CURL_OPT is set to the curl options that reach it (HTTP/2
# with prior knowledge for e).
start_backend() {
  if [ "$1" = e ]; then
    (cd integration && go build -o "$2/h2cbackend" ./cmd/h2cbackend)
    "${PIN_REST[@]}" "$2/h2cbackend" -addr "$3" >"$2/h2cbackend.log" 2>&1 & PIDS+=($!)
    CURL_OPT=(--http2-prior-knowledge)
  elif [ "$1" = w ]; then
    (cd integration && go build -o "$2/tunnelecho" ./cmd/tunnelecho)
    TUNNELECHO=$2/tunnelecho
    "${PIN_REST[@]}" "$TUNNELECHO" -serve "$3" >"$2/tunnelecho.log" 2>&1 & PIDS+=($!)
    CURL_OPT=()
  else
    [ "$1" != c ] || big_file "$2"
    backend_conf "$2" "$3" "$4" >"$2/backend.conf"
    "${PIN_REST[@]}" nginx -c "$2/backend.conf" -e "$2/backend.err" & PIDS+=($!)
    CURL_OPT=()
  fi
  BACKEND_PID=$!
  wait_http "$BACKEND_PID" "$3" "${CURL_OPT[@]}"
}

# load_cmd SCENARIO PORT SECONDS: sets LOAD to the load of scenario a, b, d, e or w on
# 127.0.0.1:PORT for SECONDS (WRK_A, WRK_B, H2LOAD, TUNNEL_LOAD), whose output `requests` reads.
load_cmd() {
  case $1 in
    a) LOAD=("${WRK_A[@]}" -d"$3s" "http://127.0.0.1:$2/") ;;
    d) LOAD=("${WRK_A[@]}" -d"$3s" -s scripts/bench/check.lua "http://127.0.0.1:$2/") ;;
    b) LOAD=("${WRK_B[@]}" -d"$3s" "http://127.0.0.1:$2/") ;;
    e) LOAD=(timeout $(($3 + 30)) "${H2LOAD[@]}" -D "$3" "http://127.0.0.1:$2/") ;;
    w) LOAD=(timeout $(($3 + 30)) "$TUNNELECHO" "${TUNNEL_LOAD[@]}" -load "127.0.0.1:$2" -d "$3s") ;;
  esac
}

# requests: how many requests were done, from the output of wrk or h2load on stdin; on stderr, how
# many responses came from the wrong backend in scenario d (bench/check.lua), if any did.
requests() {
  awk '/requests in/ {print $1} /^requests:/ {print $6}
    /^WRONG [1-9]/ {print "wrong backend: " $2 " responses" >"/dev/stderr"}'
}

# backend_workers DIR: the worker process(es) of the backends' nginx started with
# backend_conf DIR.
backend_workers() { pgrep -P "$(cat "$1/backend.pid")"; }

# nginx_workers DIR: the worker processes of the proxying nginx started with nginx_proxy_conf DIR.
nginx_workers() { pgrep -P "$(cat "$1/nginx.pid")"; }

# bench_routes ADDR_A ADDR_B: sets ROUTES to proxyd's routes in every scenario, /a to ADDR_A and /b
# to ADDR_B, as nginx_proxy_conf routes them (scenario d alternates between the two), and
# ROUTE_FLAGS to them as -r flags, the form scripts/evloop reads too.
bench_routes() {
  ROUTES=("/a=$1" "/b=$2") ROUTE_FLAGS=()
  local r
  for r in "${ROUTES[@]}"; do ROUTE_FLAGS+=(-r "$r"); done
}

# nginx_proxy_conf DIR WORKERS PORT ADDR_A ADDR_B: the configuration of nginx as the peer proxy,
# configured fairly: WORKERS workers on 127.0.0.1:PORT (reuseport spreads the connections over
# them), upstream keep-alive, no buffering; /b/ goes to ADDR_B, the rest to ADDR_A. Its pid and
# error log go to DIR.
nginx_proxy_conf() {
  cat <<CONF
worker_processes $2; daemon off; pid $1/nginx.pid; error_log $1/nginx.err;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  upstream a { server $4; keepalive 128; keepalive_requests 1000000; }
  upstream b { server $5; keepalive 128; keepalive_requests 1000000; }
  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_request_buffering off;
  server { listen 127.0.0.1:$3 reuseport;
    location / { proxy_pass http://a; }
    location /b/ { proxy_pass http://b; }
    location /a/ { proxy_pass http://a; } }
}
CONF
}

# backend_conf DIR ADDR_A ADDR_B: the configuration of the backends' nginx: on ADDR_A and ADDR_B a
# small body naming the backend and echoing the target, on ADDR_A also DIR/big as /big. Its pid
# and error log go to DIR.
backend_conf() {
  cat <<CONF
worker_processes 1; daemon off; pid $1/backend.pid; error_log $1/backend.err;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  server { listen $2; location / { add_header X-Backend a; add_header X-Uri \$request_uri; return 200 "hello from a\n"; }
           location = /big { root $1; rewrite ^ /big break; } }
  server { listen $3; location / { add_header X-Backend b; add_header X-Uri \$request_uri; return 200 "hello from b\n"; } }
}
CONF
}
