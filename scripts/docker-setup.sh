#!/usr/bin/env bash
# docker-setup.sh — make a Docker engine answer on /var/run/docker.sock for the integration tests.
#
#   bash scripts/docker-setup.sh
#
# Idempotent. On a machine where `docker info` already works it only says so. Otherwise it installs
# Debian's engine (`docker.io`, engine 20.10, API 1.41) when `dockerd` is missing, starts `dockerd` in
# the background when no daemon answers, and waits (bounded) until it does. No image is ever pulled:
# the integration tests build their own images FROM scratch; most use host networking, the test of
# proxyd in a container a user-defined bridge network with published ports (the default flags).
#
# Environment:
#   DOCKERD_LOG           where dockerd logs (default /var/log/proxyd-dockerd.log)
#   DOCKERD_WAIT_SECONDS  how long to wait for one dockerd start to answer (default 60)
set -euo pipefail

readonly DOCKERD_LOG="${DOCKERD_LOG:-/var/log/proxyd-dockerd.log}"
readonly DOCKERD_WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
readonly DOCKERD_PIDFILE=/var/run/docker.pid
# dockerd's own containerd; a pid file naming a dead one makes dockerd wait for it until it times out.
readonly CONTAINERD_PIDFILE=/var/run/docker/containerd/containerd.pid
# Docker clients that may be installed side by side (a newer static client in /usr/local/bin may
# shadow Debian's); each one found, and the one on PATH, must talk to the daemon (API version
# negotiation).
readonly DOCKER_CLIENTS=(/usr/local/bin/docker /usr/bin/docker)
# Flag sets tried in order until one daemon answers: the defaults first, then without the network
# setup this sandbox may forbid (then the container test cannot run), then also with the vfs storage
# driver for kernels or filesystems where overlay2 fails.
readonly DOCKERD_FLAG_SETS=(
	""
	"--iptables=false --ip6tables=false --bridge=none"
	"--iptables=false --ip6tables=false --bridge=none --storage-driver=vfs"
)

say() { printf 'docker-setup: %s\n' "$*" >&2; }

# fail prints what is wrong and the tail of the dockerd log, then exits non-zero.
fail() {
	say "ERROR: $*"
	if [[ -s "$DOCKERD_LOG" ]]; then
		say "last lines of $DOCKERD_LOG:"
		tail -n 30 "$DOCKERD_LOG" >&2
	fi
	exit 1
}

daemon_answers() { docker info >/dev/null 2>&1; }

# alive tells whether the process exists and is not a zombie.
alive() { kill -0 "$1" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

# running_pid prints the PID named in the pid file $1 if that process is alive and is $2.
running_pid() {
	local pid
	[[ -r "$1" ]] || return 1
	pid="$(cat "$1")"
	[[ -n "$pid" ]] && alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
	printf '%s\n' "$pid"
}

# remove_stale_pidfiles removes the pid files of a dockerd or containerd killed without cleanup
# (a killed one may still be a zombie for a moment), which would stop a new dockerd from starting.
remove_stale_pidfiles() {
	running_pid "$DOCKERD_PIDFILE" dockerd >/dev/null || rm -f "$DOCKERD_PIDFILE"
	running_pid "$CONTAINERD_PIDFILE" containerd >/dev/null || rm -f "$CONTAINERD_PIDFILE"
}

install_engine() {
	[[ "$(id -u)" -eq 0 ]] || fail "dockerd is missing and installing docker.io needs root (run as root or install Docker yourself)"
	command -v apt-get >/dev/null || fail "dockerd is missing and apt-get is not available to install docker.io"
	say "dockerd not found: installing Debian's docker.io"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || fail "apt-get update failed"
	apt-get install -y -q docker.io >/dev/null || fail "apt-get install -y docker.io failed"
	command -v dockerd >/dev/null || fail "docker.io is installed but dockerd is still not on PATH ($PATH)"
}

# wait_for_daemon polls `docker info` until it answers (0), the given dockerd exits (1), or the
# deadline passes (2).
wait_for_daemon() {
	local pid="$1" deadline=$((SECONDS + DOCKERD_WAIT_SECONDS))
	while ((SECONDS < deadline)); do
		daemon_answers && return 0
		alive "$pid" || return 1
		sleep 1
	done
	return 2
}

# start_daemon starts dockerd with each flag set in turn until one answers.
start_daemon() {
	local flags pid rc
	[[ "$(id -u)" -eq 0 ]] || fail "no Docker daemon answers and starting dockerd needs root"
	mkdir -p "$(dirname "$DOCKERD_LOG")"
	for flags in "${DOCKERD_FLAG_SETS[@]}"; do
		remove_stale_pidfiles
		say "starting dockerd ${flags:-(default flags)}; log: $DOCKERD_LOG"
		# shellcheck disable=SC2086 # flags is a list of words
		setsid nohup dockerd $flags >>"$DOCKERD_LOG" 2>&1 </dev/null &
		pid=$!
		rc=0
		wait_for_daemon "$pid" || rc=$?
		case "$rc" in
		0)
			say "dockerd (PID $pid) answers with flags: ${flags:-(defaults)}"
			return 0
			;;
		1) say "dockerd exited during start-up with flags: ${flags:-(defaults)}" ;;
		2)
			kill "$pid" 2>/dev/null || true
			fail "dockerd (PID $pid) did not answer within ${DOCKERD_WAIT_SECONDS}s"
			;;
		esac
	done
	fail "dockerd did not start with any of the flag sets tried"
}

check_clients() {
	local client checked=()
	for client in "$(command -v docker || true)" "${DOCKER_CLIENTS[@]}"; do
		[[ -n "$client" && -x "$client" ]] || continue
		[[ " ${checked[*]} " != *" $client "* ]] || continue
		checked+=("$client")
		"$client" info >/dev/null 2>&1 || fail "the Docker client $client cannot talk to the daemon: $("$client" info 2>&1 | tail -n 1)"
		say "$client: client $("$client" version --format '{{.Client.Version}}'), server $("$client" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
	done
	((${#checked[@]})) || fail "no Docker client found (looked on PATH and for ${DOCKER_CLIENTS[*]})"
}

main() {
	local pid rc=1
	if command -v docker >/dev/null && daemon_answers; then
		say "a Docker daemon already answers; nothing to do"
		check_clients
		return 0
	fi
	command -v dockerd >/dev/null || install_engine
	if pid="$(running_pid "$DOCKERD_PIDFILE" dockerd)"; then
		say "dockerd (PID $pid) is running but not answering yet; waiting"
		rc=0
		wait_for_daemon "$pid" || rc=$?
		((rc != 2)) || fail "dockerd (PID $pid) is running but did not answer within ${DOCKERD_WAIT_SECONDS}s"
		((rc == 0)) || say "dockerd (PID $pid) exited while waiting; starting a new one"
	fi
	((rc == 0)) || start_daemon
	check_clients
}

main "$@"
