#!/usr/bin/env bash
# A load balancer lab: HAProxy (Debian package haproxy) in front of emulated
# Web Connection servers, on loopback only, from a config of its own in DIR,
# never the distribution's service. Its runtime API is the unix socket
# DIR/admin.sock (use it with socat, or scripts/haproxy-hook.sh).
#
#   scripts/lblab.sh start DIR PORT STICKY_PORT NAME=HOST:PORT...
#       writes DIR/haproxy.cfg and starts HAProxy (PID in DIR/haproxy.pid):
#       127.0.0.1:PORT balances round robin over backend "be" with HTTP
#       health checks; 127.0.0.1:STICKY_PORT over backend "be_sticky" with a
#       cookie (LABAFFINITY) that keeps a client on one node, as IIS ARR's
#       ARRAffinity does. Every reply names its node in X-Lab-Server.
#   scripts/lblab.sh stop DIR
#       stops the HAProxy of DIR (only that PID).
#
# Health checks: LBLAB_CHECK_PATH (default /), LBLAB_CHECK_INTER (2s),
# LBLAB_CHECK_FALL (3), LBLAB_CHECK_RISE (2): HAProxy's defaults.
set -euo pipefail

die() { echo "lblab: $*" >&2; exit 1; }

start() {
	local dir=$1 port=$2 sticky=$3
	shift 3
	(($# > 0)) || die "start needs at least one NAME=HOST:PORT backend"
	command -v haproxy >/dev/null || die "haproxy is not installed (Debian: apt-get install haproxy socat)"
	mkdir -p "$dir"
	[[ ! -s "$dir/haproxy.pid" ]] || die "$dir/haproxy.pid exists: stop that lab first"
	local check_path=${LBLAB_CHECK_PATH:-/} inter=${LBLAB_CHECK_INTER:-2s}
	local fall=${LBLAB_CHECK_FALL:-3} rise=${LBLAB_CHECK_RISE:-2}
	local servers="" sticky_servers="" spec name addr
	for spec in "$@"; do
		name=${spec%%=*} addr=${spec#*=}
		[[ "$name" != "$spec" && "$addr" == 127.0.0.1:* ]] || die "backend $spec: write NAME=127.0.0.1:PORT (loopback only)"
		servers+="    server $name $addr check inter $inter fall $fall rise $rise"$'\n'
		sticky_servers+="    server $name $addr cookie $name"$'\n'
	done
	cat >"$dir/haproxy.cfg" <<EOF
global
    stats socket $dir/admin.sock mode 600 level admin
    stats timeout 30s

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s

frontend fe
    bind 127.0.0.1:$port
    default_backend be

backend be
    balance roundrobin
    option httpchk GET $check_path
    http-response set-header X-Lab-Server %[srv_name]
$servers
frontend fe_sticky
    bind 127.0.0.1:$sticky
    default_backend be_sticky

backend be_sticky
    balance roundrobin
    cookie LABAFFINITY insert indirect nocache
    http-response set-header X-Lab-Server %[srv_name]
$sticky_servers
EOF
	haproxy -c -q -f "$dir/haproxy.cfg" || die "HAProxy refused $dir/haproxy.cfg"
	haproxy -D -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" || die "HAProxy did not start"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S "$dir/admin.sock" && -s "$dir/haproxy.pid" ]] && return 0
		sleep 0.05
	done
	die "HAProxy started but $dir/admin.sock did not appear"
}

stop() {
	local dir=$1 pid
	[[ -s "$dir/haproxy.pid" ]] || return 0
	pid=$(head -n1 "$dir/haproxy.pid")
	# Only our own HAProxy: the PID must still run our config.
	if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/haproxy.cfg"; then
		kill "$pid" 2>/dev/null || true
		local i
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	elif [[ ! -e /proc/$pid ]] && kill -0 "$pid" 2>/dev/null; then
		# No /proc (macOS): trust the PID file of our own folder.
		kill "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/haproxy.pid" "$dir/admin.sock"
}

case "${1:-}" in
start) (($# >= 5)) || die "usage: lblab.sh start DIR PORT STICKY_PORT NAME=HOST:PORT..."; shift; start "$@" ;;
stop) (($# == 2)) || die "usage: lblab.sh stop DIR"; stop "$2" ;;
*) die "usage: lblab.sh start DIR PORT STICKY_PORT NAME=HOST:PORT... | stop DIR" ;;
esac
