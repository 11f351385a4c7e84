#!/usr/bin/env bash
# Runs every check of proxyd: go vet and go test (with the race detector) over every module of the
# workspace, the engine's tests once more on ring loops, the program's tests once more built
# position-independent, go vet of every module built for macOS and Windows (vet type-checks the
# tests too), the integration tests against containerised backends (Docker is set up first),
# h2spec's HTTP/2 conformance cases through proxyd (scripts/h2spec.sh), and a short fuzzing run of
# every fuzz target.
#
#   bash scripts/test.sh            # everything
#   FUZZ_TIME=60s bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/docker-setup.sh

modules=(router wire proxyd fuzz integration)
status=0
for m in "${modules[@]}"; do
  echo "== $m: go vet"
  (cd "$m" && go vet ./...) || status=1
done
for m in "${modules[@]}"; do
  for target in darwin/arm64 windows/amd64; do
    echo "== $m: go vet for $target"
    (cd "$m" && GOOS="${target%/*}" GOARCH="${target#*/}" go vet ./...) || status=1
  done
done
# scripts/evloop and scripts/desync, tools in modules outside the workspace, build against the
# workspace's modules as they are.
for m in scripts/evloop scripts/desync; do
  echo "== $m: go vet"
  (cd "$m" && GOWORK=off go vet .) || status=1
done
for m in "${modules[@]}"; do
  echo "== $m: go test"
  flags=(-race -count=1)
  [ "$m" = integration ] && flags=(-count=1 -timeout=10m)
  (cd "$m" && go test "${flags[@]}" ./...) || status=1
done
# proxyd serves keep-alive exchanges on io_uring loops by default; the engine's tests, whose
# configuration leaves them off, run once more on them, serving whatever the load (they fail where
# the loops cannot start), and again on one processor, where the one loop shares it with the
# other goroutines.
echo "== proxyd: engine tests on ring loops"
(cd proxyd && PROXYD_TEST_RING_LOOPS=1 go test -race -count=1 ./internal/engine) || status=1
echo "== proxyd: engine tests on the ring loop of one processor"
(cd proxyd && GOMAXPROCS=1 PROXYD_TEST_RING_LOOPS=1 go test -race -count=1 ./internal/engine) || status=1
# Distributions often build Go programs position-independent. The dynamic loader then relocates
# read-only data in place, which proxyd must keep when it lets go of its executable's start-up pages
# (proxyd/internal/exepages): the program and that package run once more, built so.
echo "== proxyd: go test -buildmode=pie"
(cd proxyd && go test -count=1 -buildmode=pie . ./internal/exepages) || status=1

echo "== h2spec: HTTP/2 conformance through proxyd"
bash scripts/h2spec.sh || status=1

echo "== fuzz: ${FUZZ_TIME:-15s} per target"
bash scripts/fuzz.sh "${FUZZ_TIME:-15s}" || status=1

exit "$status"
