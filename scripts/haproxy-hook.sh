#!/bin/sh
# A wcdeploy hook for HAProxy's runtime API (needs socat):
#
#   rollout:
#     hooks:
#       before_swap: [scripts/haproxy-hook.sh, drain]
#       after_swap: [scripts/haproxy-hook.sh, ready]
#   servers:
#     - {name: web1, url: "https://web1.internal/App/", vars: {lb_server: be/web1}}
#
#   drain [BACKEND/SERVER]  set the server to drain (no new requests; sticky
#                           clients too leave it once their session ends) and
#                           wait until its current and queued sessions are 0
#   ready [BACKEND/SERVER]  put it back in rotation; after a swap whose
#                           outcome is unknown (WCDEPLOY_OUTCOME=unknown) it
#                           stays drained and the hook fails, so the report
#                           says so
#
# BACKEND/SERVER defaults to WCDEPLOY_VAR_LB_SERVER (the server's vars:
# lb_server). HAPROXY_SOCKET is the runtime API: a unix socket path
# (default /run/haproxy/admin.sock, the Debian package's) or HOST:PORT for
# "stats socket ipv4@HOST:PORT level admin". HAPROXY_DRAIN_TIMEOUT is how
# long drain waits, in seconds (default 30; keep it below
# rollout.hooks.timeout).
set -eu

action=${1:-}
server=${2:-${WCDEPLOY_VAR_LB_SERVER:-}}
sock=${HAPROXY_SOCKET:-/run/haproxy/admin.sock}
timeout=${HAPROXY_DRAIN_TIMEOUT:-30}

[ -n "$server" ] || { echo "haproxy-hook: no server: pass BACKEND/SERVER or set vars: {lb_server: BACKEND/SERVER} on the server in wcdeploy.yaml" >&2; exit 2; }
case $server in */*) ;; *) echo "haproxy-hook: $server: write BACKEND/SERVER as in haproxy.cfg, e.g. be/web1" >&2; exit 2 ;; esac
command -v socat >/dev/null || { echo "haproxy-hook: socat is not installed" >&2; exit 2; }

api() {
	case $sock in
	/*) addr="unix-connect:$sock" ;;
	*) addr="tcp-connect:$sock" ;;
	esac
	echo "$1" | socat -t 5 stdio "$addr"
}

# set runs a "set server" command; HAProxy answers nothing when it worked.
set_state() {
	reply=$(api "set server $server state $1") || { echo "haproxy-hook: cannot reach HAProxy's runtime API at $sock" >&2; exit 1; }
	reply=$(printf '%s' "$reply" | tr -d '\r\n')
	[ -z "$reply" ] || { echo "haproxy-hook: HAProxy refused 'set server $server state $1': $reply" >&2; exit 1; }
}

# sessions prints the server's current plus queued sessions.
sessions() {
	api "show stat" | awk -F, -v be="${server%%/*}" -v sv="${server#*/}" '$1 == be && $2 == sv { print $3 + $5; found = 1 } END { if (!found) exit 1 }'
}

case $action in
drain)
	set_state drain
	tries=$((timeout * 10))
	while :; do
		n=$(sessions) || { echo "haproxy-hook: HAProxy's statistics list no server $server" >&2; exit 1; }
		[ "$n" -eq 0 ] && break
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || { echo "haproxy-hook: $server still has $n sessions after ${timeout}s of draining; it stays drained" >&2; exit 1; }
		sleep 0.1
	done
	echo "$server drained"
	;;
ready)
	if [ "${WCDEPLOY_OUTCOME:-ok}" = unknown ]; then
		echo "haproxy-hook: what $server runs is unknown after its swap: it stays drained; check it, then: echo 'set server $server state ready' | socat stdio unix-connect:$sock" >&2
		exit 1
	fi
	set_state ready
	echo "$server ready"
	;;
*)
	echo "usage: haproxy-hook.sh drain|ready [BACKEND/SERVER]" >&2
	exit 2
	;;
esac
