# What the measuring scripts (bench.sh, ab-h2.sh, idle-memory.sh) share. Sourced, from the
# repository's root, by scripts that set -euo pipefail.

# build_static OUT: proxyd built as the container image and a release ship it, static and without
# libc (README.md, Install).
build_static() { CGO_ENABLED=0 go build -trimpath -o "$1" ./proxyd; }

# wait_http ADDR [curl option]...: waits up to 10 s for the server at ADDR to answer GET /.
wait_http() {
  local addr=$1
  shift
  for _ in $(seq 100); do curl -fso /dev/null "$@" "http://$addr/" && return; sleep 0.1; done
}

# cpu_ticks PID...: the CPU time the processes have used, user and system, in 10 ms ticks.
cpu_ticks() {
  local p t=0
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
  echo $t
}

# H2LOAD is scenario (e)'s load without its duration and target: h2load, 16 connections x 16
# concurrent streams, one thread.
H2LOAD=(h2load -c16 -m16 -t1)
