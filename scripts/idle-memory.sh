#!/usr/bin/env bash
# Measures what an idle keep-alive client connection costs proxyd: the proxy's resident memory with
# N connections (default 9,000) that each made one request and then stay open and silent, against
# its memory before they connected. With PROTO=h2 the connections speak HTTP/2 with prior knowledge
# (as gRPC clients do): preface, SETTINGS, one GET on stream 1, the SETTINGS acknowledged. With
# BODY=N (1 to 16,384) the request is a POST of N bytes instead. Loopback only; the client is
# bounded in count and closes all its connections when done.
#
#   bash scripts/idle-memory.sh [connections]
#   PROTO=h2 bash scripts/idle-memory.sh [connections]
#   PROTO=h2 BODY=16000 bash scripts/idle-memory.sh [connections]
#   PROXYD_FLAGS=--no-ring-loops bash scripts/idle-memory.sh [connections]   (proxyd with further flags)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh
N=${1:-9000}
PROTO=${PROTO:-h1}
case $PROTO in
  h1 | h2) ;;
  *) echo "idle-memory: PROTO must be h1 or h2, not $PROTO" >&2; exit 2 ;;
esac
BODY=${BODY:-0}
[[ $BODY =~ ^[0-9]+$ ]] && [ "$BODY" -le 16384 ] || { echo "idle-memory: BODY must be 0 to 16384, not $BODY" >&2; exit 2; }
need nginx nginx-light
ulimit -n 20000

WORK=$(mktemp -d /tmp/proxyd-idle.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cat > "$WORK/backend.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/backend.pid; error_log $WORK/backend.err;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:18281; location / { return 200 "ok\n"; } } }
CONF
nginx -c "$WORK/backend.conf" -e "$WORK/backend.err" & PIDS+=($!)
build_static "$WORK/proxyd"
# shellcheck disable=SC2086 # PROXYD_FLAGS is a list of words
"$WORK/proxyd" 127.0.0.1:18290 127.0.0.1:18281 --log-level=warn --idle-timeout=10m ${PROXYD_FLAGS:-} \
  2>"${PROXYD_LOG:-$WORK/proxyd.log}" & PIDS+=($!)
PROXYD=$!
wait_http $PROXYD 127.0.0.1:18290

rss() { awk '/VmRSS/ {print $2}' "/proc/$PROXYD/status"; }
before=$(rss)
held=$(python3 - "$N" "$PROXYD" "${SETTLE:-5}" "$PROTO" "$BODY" <<'PY'
import socket, sys, time
n, pid, proto, body = int(sys.argv[1]), sys.argv[2], sys.argv[4], int(sys.argv[5])
# HTTP/2 (RFC 9113): the preface, an empty SETTINGS frame, and a HEADERS frame (END_HEADERS, and
# END_STREAM for a GET) on stream 1 whose HPACK block is :method GET or POST, :scheme http, :path /
# (static table entries 2 or 3, 6, 4), :authority bench (entry 1's name, a literal value, not
# indexed) and for a POST content-length (entry 28's name); then the POST's body in one DATA frame
# (END_STREAM).
length = str(body).encode()
block = bytes([0x83 if body else 0x82, 0x86, 0x84, 0x41, 5]) + b"bench"
if body:
    block += bytes([0x5C, len(length)]) + length
h2_request = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) +
              len(block).to_bytes(3, "big") + bytes([1, 4 if body else 5, 0, 0, 0, 1]) + block)
if body:
    h2_request += body.to_bytes(3, "big") + bytes([0, 1, 0, 0, 0, 1]) + b"x" * body
h1_request = (b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Length: " + length + b"\r\n\r\n" + b"x" * body
              if body else b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
settings_ack = bytes([0, 0, 0, 4, 1, 0, 0, 0, 0])
request = h2_request if proto == "h2" else h1_request
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", 18290))
    s.sendall(request)
    got = b""
    while b"ok\n" not in got:  # the body; in HTTP/2 a DATA frame's payload
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection %d closed early" % i)
        got += chunk
    if proto == "h2":
        s.sendall(settings_ack)
    conns.append(s)
time.sleep(float(sys.argv[3]))  # let the proxy settle: every connection is parked and handed off
rss = [l for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS")][0].split()[1]
print("RSS_HELD", rss)
for s in conns:
    s.close()
PY
)
held=${held#RSS_HELD }
echo "proxyd RSS: ${before} KiB before, ${held} KiB with $N idle keep-alive connections ($PROTO$([ "$BODY" = 0 ] || echo ", after a POST of $BODY bytes"))"
echo "per idle connection: $(( (held - before) * 1024 / N )) bytes"
