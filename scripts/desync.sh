#!/usr/bin/env bash
# Attacks proxyd as a request smuggler would: scripts/desync sends the framing mutations of
# proxyd.dev/fuzz (every byte value at each place of a Transfer-Encoding, Content-Length or
# request line, and of a chunked body's framing; about 10,000 requests), and 1,556 HTTP/2 requests
# with such bytes in their fields or a body at odds with its content-length (forwarded as
# HTTP/1.1), through proxyd to backends of other stacks. For each backend it reports how many
# requests were closed or refused (by proxyd or the backend), agreed (the backend ended the request
# where proxyd did, and answered the request after it) and split (they disagree: a smuggled
# request). Then the other way: 5,160 mutated responses (the same bytes in a Transfer-Encoding or
# Content-Length line of a response) from a raw backend, each followed by a second request on the
# same connection, read through proxyd by net/http's client. Exits 1 when any request was split.
# Every run goes through proxyd twice: serving on goroutines (--no-ring-loops), and on its io_uring
# ring loops whatever the load (--ring-loops-busy=-1), which parse heads and relay whole responses
# of their own; it also exits 1 when the loops sent no request. Loopback only; every request waits
# at most 2 s.
#
#   bash scripts/desync.sh                        (Go's net/http, Node.js's http module, and nginx)
#   BACKENDS="go node nginx tomcat" bash scripts/desync.sh
#   SERVING=loops bash scripts/desync.sh          (only one of goroutines and loops)
#
# go: net/http (desync -serve). node: Node.js's http server (llhttp), scripts/desync/echo.js. nginx: nginx proxying to it, with
# its request buffering, so that nginx reads every body before it answers. tomcat: Tomcat 10 with
# a JSP that reads the body; it needs Debian's tomcat10 package, which this script does not
# install (the package starts a Tomcat of its own where systemd runs).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh
BACKENDS=${BACKENDS:-go node nginx}
SERVING=${SERVING:-goroutines loops}
# serving_flags MODE: proxyd's flags for serving MODE, goroutines or loops; fails for another.
serving_flags() {
  case $1 in
    goroutines) echo --no-ring-loops ;;
    loops) echo --ring-loops-busy=-1 ;;
    *) return 1 ;;
  esac
}
for m in $SERVING; do
  serving_flags "$m" >/dev/null || { echo "desync: SERVING holds goroutines or loops, not $m" >&2; exit 2; }
done
TOMCAT_HOME=/usr/share/tomcat10
for b in $BACKENDS; do
  case $b in
    go) ;;
    node) need node nodejs ;;
    nginx) need node nodejs; need nginx nginx-light ;;
    tomcat) [ -x $TOMCAT_HOME/bin/catalina.sh ] || { echo "desync: tomcat needs Debian's tomcat10 package" >&2; exit 2; } ;;
    *) echo "desync: BACKENDS holds go, node, nginx or tomcat, not $b" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d /tmp/proxyd-desync.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

GO=127.0.0.1:18954 RESPONSES=127.0.0.1:18955 NODE=127.0.0.1:18951 NGINX=127.0.0.1:18952 TOMCAT=127.0.0.1:18953 PROXYD=127.0.0.1:18950
ADMIN=127.0.0.1:18956
build_static "$WORK/proxyd"
(cd scripts/desync && GOWORK=off go build -o "$WORK/desync" .)

# start_backend NAME: starts backend NAME and sets ADDR to its address.
start_backend() {
  case $1 in
    go)
      "$WORK/desync" -serve $GO 2>"$WORK/go.log" & PIDS+=($!)
      wait_listen $! $GO
      ADDR=$GO ;;
    node | nginx)
      if [ -z "${NODE_PID:-}" ]; then
        node scripts/desync/echo.js $NODE 2>"$WORK/node.log" & PIDS+=($!)
        NODE_PID=$!
        wait_listen $NODE_PID $NODE
      fi
      ADDR=$NODE ;;&
    nginx)
      cat >"$WORK/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err;
events { worker_connections 256; }
http {
  access_log off;
  server {
    listen $NGINX;
    location / { proxy_pass http://$NODE; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
      nginx -c "$WORK/nginx.conf" -e "$WORK/nginx.err" & PIDS+=($!)
      wait_http $! $NGINX
      ADDR=$NGINX ;;
    tomcat)
      local base=$WORK/tomcat
      mkdir -p "$base"/{conf,logs,temp,work,webapps/ROOT}
      cp /etc/tomcat10/web.xml "$base/conf/" # the JSP servlet's mapping
      cat >"$base/conf/server.xml" <<CONF
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="${TOMCAT%:*}" port="${TOMCAT##*:}" protocol="HTTP/1.1" connectionTimeout="20000"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
CONF
      # The JSP reads the body to its end and answers with the path and the body's length.
      cat >"$base/webapps/ROOT/index.jsp" <<'JSP'
<%@ page contentType="text/plain" %><% int n = 0; java.io.InputStream in = request.getInputStream(); byte[] b = new byte[4096]; for (int k; (k = in.read(b)) > 0;) n += k; %>{"path":"<%= request.getRequestURI() %>","length":<%= n %>}
JSP
      CATALINA_HOME=$TOMCAT_HOME CATALINA_BASE=$base $TOMCAT_HOME/bin/catalina.sh run >"$WORK/tomcat.log" 2>&1 & PIDS+=($!)
      WAIT_SECONDS=60 wait_http $! $TOMCAT # Tomcat takes seconds to start
      ADDR=$TOMCAT ;;
  esac
}

# through_proxyd NAME ADDR ARG...: runs desync with ARGs through a proxyd in front of ADDR, once
# for each way of serving in SERVING, naming the backend NAME in the report.
through_proxyd() {
  local name=$1 addr=$2 mode flags pid served
  shift 2
  for mode in $SERVING; do
    flags=$(serving_flags "$mode")
    "$WORK/proxyd" $PROXYD "$addr" $flags --admin-addr $ADMIN --log-level=error \
      2>"$WORK/proxyd.log" & PIDS+=($!)
    pid=$!
    wait_listen $pid $PROXYD
    "$WORK/desync" -proxy $PROXYD -name "$name, proxyd on $mode" "$@" || status=1
    if [ "$mode" = loops ]; then # a run that names the loops must have been served by them
      served=$(curl -fsS "http://$ADMIN/metrics" | awk '$1 == "proxyd_ring_loop_exchanges_total" { print $2 }')
      echo "$name, proxyd on loops: ${served:-no} requests sent to the backend from the loops"
      [ "${served:-0}" != 0 ] || status=1
    fi
    kill $pid
    wait $pid 2>/dev/null || true
  done
}

status=0
for b in $BACKENDS; do
  start_backend "$b"
  through_proxyd "$b" "$ADDR"
done
# The other way: a backend that answers with the mutated responses, read through proxyd by
# net/http's client.
"$WORK/desync" -serve-responses $RESPONSES 2>"$WORK/responses.log" & PIDS+=($!)
wait_listen $! $RESPONSES
through_proxyd "a raw backend" $RESPONSES -responses
exit $status
