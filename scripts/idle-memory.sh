#!/usr/bin/env bash
# Measures what an idle keep-alive client connection costs proxyd: the proxy's resident memory with
# N connections (default 9,000) that each made one request and then stay open and silent, against
# its memory before they connected. With PROTO=h2 the connections speak HTTP/2 with prior knowledge
# (as gRPC clients do): preface, SETTINGS, one GET on stream 1, the SETTINGS acknowledged. Loopback
# only; the client is bounded in count and closes all its connections when done.
#
#   bash scripts/idle-memory.sh [connections]
#   PROTO=h2 bash scripts/idle-memory.sh [connections]
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
"$WORK/proxyd" 127.0.0.1:18290 127.0.0.1:18281 --log-level=warn --idle-timeout=10m 2>"${PROXYD_LOG:-$WORK/proxyd.log}" & PIDS+=($!)
PROXYD=$!
wait_http 127.0.0.1:18290

rss() { awk '/VmRSS/ {print $2}' "/proc/$PROXYD/status"; }
before=$(rss)
held=$(python3 - "$N" "$PROXYD" "${SETTLE:-5}" "$PROTO" <<'PY'
import socket, sys, time
n, pid, proto = int(sys.argv[1]), sys.argv[2], sys.argv[4]
# HTTP/2 (RFC 9113): the preface, an empty SETTINGS frame, and a HEADERS frame (END_STREAM and
# END_HEADERS) on stream 1 whose HPACK block is :method GET, :scheme http, :path / (static table
# entries 2, 6, 4) and :authority bench (entry 1's name, a literal value, not indexed).
block = bytes([0x82, 0x86, 0x84, 0x41, 5]) + b"bench"
h2_request = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) +
              len(block).to_bytes(3, "big") + bytes([1, 5, 0, 0, 0, 1]) + block)
settings_ack = bytes([0, 0, 0, 4, 1, 0, 0, 0, 0])
request = h2_request if proto == "h2" else b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
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
echo "proxyd RSS: ${before} KiB before, ${held} KiB with $N idle keep-alive connections ($PROTO)"
echo "per idle connection: $(( (held - before) * 1024 / N )) bytes"
