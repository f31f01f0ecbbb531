#!/usr/bin/env bash
# authlab.sh: real Windows-style authentication servers on loopback, for tests
# and for trying wcdeploy by hand.
#
#   scripts/authlab.sh start DIR BACKEND   start the lab in the empty folder DIR
#   scripts/authlab.sh stop DIR            stop what "start DIR" started
#
# BACKEND is host:port of the Web Connection server (or emulator) that Apache
# proxies to; Apache passes the authenticated user on in the X-Remote-User
# header (run the emulator with --proxy-user-header X-Remote-User).
#
# It starts, bound to 127.0.0.1 only:
#   - an MIT Kerberos KDC with a new realm, the user and HTTP/localhost
#     principals, and keytabs for both (user.keytab, http.keytab);
#   - one Apache httpd (mod_auth_gssapi; gss-ntlmssp for NTLM) with a port per
#     mode, each a reverse proxy in front of BACKEND:
#       kerberos  Negotiate with Kerberos only
#       windows   Negotiate (Kerberos or NTLM) and NTLM, as IIS offers them
#       ntlm      NTLM (raw and inside Negotiate), users from a file
#       both      NTLM and Basic (checked against the KDC) offered together
#       close3    NTLM, and every connection closed after 3 requests
#       nobind    a proxy hop that opens a new connection to an NTLM + Basic
#                 hop for every request (no connection affinity)
# DIR/env holds the ports, the realm, the user, the user's password (made up
# for the lab) and the paths, as KEY=value lines. DIR/access.log has one line
# per request: "<mode> <conn> <keepalive#> <status> <bytes-in> <auth-leg> <method> <path>",
# where auth-leg is ntlm-negotiate, ntlm-authenticate, basic, kerberos or -.
# Debian packages: krb5-kdc krb5-admin-server krb5-user apache2-bin
# libapache2-mod-auth-gssapi gss-ntlmssp.
# Only the processes this script started (their PIDs are in DIR) are stopped.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # the KDC tools live there

REALM=${AUTHLAB_REALM:-WCDEPLOY.TEST}
LABUSER=${AUTHLAB_USER:-alice}
NTLM_DOMAIN=${AUTHLAB_DOMAIN:-LAB}
APACHE=${APACHE_BIN:-/usr/sbin/apache2}
MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

die() { echo "authlab: $*" >&2; exit 1; }

need() {
	local missing=()
	for c in krb5kdc kdb5_util kadmin.local "$APACHE"; do
		command -v "$c" >/dev/null 2>&1 || [[ -x $c ]] || missing+=("$c")
	done
	[[ -f $MODULES/mod_auth_gssapi.so ]] || missing+=(mod_auth_gssapi)
	compgen -G "/usr/lib/*/gssntlmssp/gssntlmssp.so" >/dev/null || missing+=(gss-ntlmssp)
	if ((${#missing[@]})); then
		die "missing ${missing[*]}: apt-get install krb5-kdc krb5-admin-server krb5-user apache2-bin libapache2-mod-auth-gssapi gss-ntlmssp"
	fi
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on and
# that this run has not handed out before (TAKEN, a file: free_port runs in
# a subshell).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		grep -qx "$p" "$TAKEN" 2>/dev/null && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p" >>"$TAKEN"
			echo "$p"
			return
		fi
	done
}

# wait_listen PID PORT: waits until PORT listens; fails early when the
# process PID is gone (it could not bind, or its configuration is wrong).
wait_listen() {
	local i
	for ((i = 0; i < 600; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

write_krb5() {
	cat >"$DIR/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	ticket_lifetime = 10h
[realms]
	$REALM = {
		kdc = 127.0.0.1:$KDC_PORT
	}
[domain_realm]
	localhost = $REALM
EOF
	cat >"$DIR/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KDC_PORT
[realms]
	$REALM = {
		database_name = $DIR/principal
		key_stash_file = $DIR/stash
		acl_file = $DIR/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
		max_life = 10h
	}
[logging]
	kdc = FILE:$DIR/kdc.log
EOF
	: >"$DIR/kadm5.acl"
}

start_kdc() {
	export KRB5_CONFIG=$DIR/krb5.conf KRB5_KDC_PROFILE=$DIR/kdc.conf
	kdb5_util create -s -r "$REALM" -P "$(head -c 18 /dev/urandom | base64)" >/dev/null 2>&1 || die "kdb5_util create failed"
	kadmin.local -q "addprinc +requires_preauth -pw $PASSWORD $LABUSER" >/dev/null 2>&1
	kadmin.local -q "addprinc -randkey HTTP/localhost" >/dev/null 2>&1
	kadmin.local -q "ktadd -k $DIR/http.keytab HTTP/localhost" >/dev/null 2>&1
	kadmin.local -q "ktadd -k $DIR/user.keytab -norandkey $LABUSER" >/dev/null 2>&1
	[[ -s $DIR/http.keytab && -s $DIR/user.keytab ]] || die "kadmin.local made no keytab"
	# free_port saw the TCP port free; the KDC also binds UDP on it, which
	# another process may hold (or take before the bind): a KDC that dies
	# is started again on a new port, unless AUTHLAB_KDC_PORT fixed it.
	local attempt pid
	for attempt in 1 2 3; do
		krb5kdc -n -P "$DIR/kdc.pid" >>"$DIR/kdc.log" 2>&1 &
		pid=$!
		echo "$pid" >"$DIR/kdc.pid.started"
		wait_listen "$pid" "$KDC_PORT" && return 0
		stop_pids "$DIR/kdc.pid.started"
		[[ -z ${AUTHLAB_KDC_PORT:-} ]] || die "the KDC did not listen on 127.0.0.1:$KDC_PORT (see $DIR/kdc.log)"
		echo "authlab: the KDC did not listen on 127.0.0.1:$KDC_PORT; trying a new port (attempt $attempt)" >&2
		KDC_PORT=$(free_port)
		write_krb5
	done
	die "the KDC did not listen on three ports (see $DIR/kdc.log)"
}

# vhost PORT MODE: the Apache virtual host of one mode.
vhost() {
	local port=$1 mode=$2 auth="" extra="" target="http://$BACKEND/"
	case $mode in
	kerberos) auth="GssapiAllowedMech krb5" ;;
	windows) auth="GssapiAllowedMech krb5
		GssapiAllowedMech ntlmssp
		GssapiConnectionBound On" ;;
	ntlm) auth="GssapiAllowedMech ntlmssp
		GssapiConnectionBound On" ;;
	both | inner) auth="GssapiAllowedMech ntlmssp
		GssapiConnectionBound On
		GssapiBasicAuth On
		GssapiBasicAuthMech krb5" ;;
	close3) auth="GssapiAllowedMech ntlmssp
		GssapiConnectionBound On"
		extra="MaxKeepAliveRequests 3" ;;
	nobind) target="http://127.0.0.1:$INNER_PORT/ disablereuse=On" ;;
	esac
	local location=""
	if [[ -n $auth ]]; then
		location="<Location />
		AuthType GSSAPI
		AuthName \"wcdeploy lab\"
		$auth
		Require valid-user
		RequestHeader set X-Remote-User \"expr=%{REMOTE_USER}\"
		RequestHeader unset Authorization
	</Location>"
	fi
	cat <<EOF
<VirtualHost 127.0.0.1:$port>
	SetEnvIf Request_URI . authlab_mode=$mode
	$extra
	ProxyPass / $target
	$location
</VirtualHost>
EOF
}

write_apache() {
	local user_lines=""
	if [[ $(id -u) -eq 0 ]]; then
		user_lines="User www-data
Group www-data"
	fi
	cat >"$DIR/httpd.conf" <<EOF
ServerRoot $DIR
ServerName localhost
PidFile $DIR/httpd.pid
DefaultRuntimeDir $DIR
Mutex file:$DIR default
ErrorLog $DIR/error.log
LogLevel warn
$user_lines
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authn_core_module $MODULES/mod_authn_core.so
LoadModule authz_user_module $MODULES/mod_authz_user.so
LoadModule auth_gssapi_module $MODULES/mod_auth_gssapi.so
LoadModule proxy_module $MODULES/mod_proxy.so
LoadModule proxy_http_module $MODULES/mod_proxy_http.so
LoadModule headers_module $MODULES/mod_headers.so
LoadModule setenvif_module $MODULES/mod_setenvif.so
LoadModule env_module $MODULES/mod_env.so
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
KeepAlive On
KeepAliveTimeout 15
Timeout 60
LimitRequestBody 0
# Which authentication leg a request carries, without logging the token.
SetEnvIf Authorization "^(NTLM|Negotiate) TlRMTVNTUAAB" auth_leg=ntlm-negotiate
SetEnvIf Authorization "^(NTLM|Negotiate) TlRMTVNTUAAD" auth_leg=ntlm-authenticate
SetEnvIf Authorization "^Negotiate YI" auth_leg=kerberos
SetEnvIf Authorization "^Basic " auth_leg=basic
LogFormat "%{authlab_mode}e %{remote}p %k %>s %I %{auth_leg}e %m %U" lab
CustomLog $DIR/access.log lab
Listen 127.0.0.1:$PORT_KERBEROS
Listen 127.0.0.1:$PORT_WINDOWS
Listen 127.0.0.1:$PORT_NTLM
Listen 127.0.0.1:$PORT_BOTH
Listen 127.0.0.1:$PORT_CLOSE3
Listen 127.0.0.1:$PORT_NOBIND
Listen 127.0.0.1:$INNER_PORT
$(vhost "$PORT_KERBEROS" kerberos)
$(vhost "$PORT_WINDOWS" windows)
$(vhost "$PORT_NTLM" ntlm)
$(vhost "$PORT_BOTH" both)
$(vhost "$PORT_CLOSE3" close3)
$(vhost "$PORT_NOBIND" nobind)
$(vhost "$INNER_PORT" inner)
EOF
	echo "$NTLM_DOMAIN:$LABUSER:$PASSWORD" >"$DIR/ntlm_users"
}

start_apache() {
	if [[ $(id -u) -eq 0 ]]; then
		# The workers run as www-data: they read the keytab and user file.
		chmod 755 "$DIR"
		chmod 644 "$DIR/http.keytab" "$DIR/ntlm_users" "$DIR/krb5.conf"
	fi
	KRB5_CONFIG=$DIR/krb5.conf KRB5_KTNAME=$DIR/http.keytab NTLM_USER_FILE=$DIR/ntlm_users KRB5RCACHETYPE=none \
		"$APACHE" -f "$DIR/httpd.conf" -DFOREGROUND >>"$DIR/error.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$DIR/httpd.pid.started"
	local p
	for p in "$PORT_KERBEROS" "$PORT_WINDOWS" "$PORT_NTLM" "$PORT_BOTH" "$PORT_CLOSE3" "$PORT_NOBIND" "$INNER_PORT"; do
		wait_listen "$pid" "$p" || return 1
	done
}

# apache_ports picks Apache's ports.
apache_ports() {
	PORT_KERBEROS=$(free_port) PORT_WINDOWS=$(free_port) PORT_NTLM=$(free_port) PORT_BOTH=$(free_port)
	PORT_CLOSE3=$(free_port) PORT_NOBIND=$(free_port) INNER_PORT=$(free_port)
}

# run_apache starts Apache on free ports; when another process took one of
# them between the pick and the bind, it tries again on new ones.
run_apache() {
	local attempt
	for attempt in 1 2 3; do
		apache_ports
		write_apache
		start_apache && return 0
		stop_pids "$DIR/httpd.pid.started"
		grep -q "Address already in use" "$DIR/error.log" ||
			die "Apache did not start (see $DIR/error.log)"
		echo "authlab: a port was taken before Apache bound it; trying new ports (attempt $attempt)" >&2
	done
	die "Apache did not listen: its ports were taken three times (see $DIR/error.log)"
}

cmd_start() {
	need
	[[ -d $DIR ]] || mkdir -p "$DIR"
	[[ -z $(ls -A "$DIR") ]] || die "$DIR is not empty"
	DIR=$(cd "$DIR" && pwd)
	PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
	TAKEN=$DIR/ports.taken
	KDC_PORT=${AUTHLAB_KDC_PORT:-$(free_port)}
	# Whatever stops the start half way (die exits, which no ERR trap sees)
	# stops what it started.
	trap 'cmd_stop >/dev/null 2>&1 || true' EXIT
	write_krb5
	start_kdc
	run_apache
	trap - EXIT
	umask 077
	cat >"$DIR/env" <<EOF
AUTHLAB_DIR=$DIR
AUTHLAB_REALM=$REALM
AUTHLAB_USER=$LABUSER
AUTHLAB_DOMAIN=$NTLM_DOMAIN
AUTHLAB_PASSWORD=$PASSWORD
AUTHLAB_KRB5_CONFIG=$DIR/krb5.conf
AUTHLAB_USER_KEYTAB=$DIR/user.keytab
AUTHLAB_HTTP_KEYTAB=$DIR/http.keytab
AUTHLAB_KDC_PORT=$KDC_PORT
AUTHLAB_PORT_KERBEROS=$PORT_KERBEROS
AUTHLAB_PORT_WINDOWS=$PORT_WINDOWS
AUTHLAB_PORT_NTLM=$PORT_NTLM
AUTHLAB_PORT_BOTH=$PORT_BOTH
AUTHLAB_PORT_CLOSE3=$PORT_CLOSE3
AUTHLAB_PORT_NOBIND=$PORT_NOBIND
AUTHLAB_ACCESS_LOG=$DIR/access.log
AUTHLAB_KDC_LOG=$DIR/kdc.log
EOF
	echo "authlab: KDC on 127.0.0.1:$KDC_PORT (realm $REALM); Apache kerberos :$PORT_KERBEROS windows :$PORT_WINDOWS ntlm :$PORT_NTLM both :$PORT_BOTH close3 :$PORT_CLOSE3 nobind :$PORT_NOBIND; settings in $DIR/env"
}

# stop_pids FILE...: TERM to each PID recorded in FILE (and removes FILE),
# then waits for them all; KILL after 5 s.
stop_pids() {
	local f pids=() pid i
	for f in "$@"; do
		[[ -f $f ]] || continue
		pids+=("$(<"$f")")
		rm -f "$f"
	done
	((${#pids[@]})) || return 0
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for ((i = 0; i < 100; i++)); do
		local alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		((alive)) || return 0
		sleep 0.05
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

cmd_stop() {
	stop_pids "$DIR/httpd.pid.started" "$DIR/kdc.pid.started"
}

case ${1:-} in
start)
	[[ $# -eq 3 ]] || die "usage: $0 start DIR BACKEND(host:port)"
	DIR=$2 BACKEND=$3
	cmd_start
	;;
stop)
	[[ $# -eq 2 ]] || die "usage: $0 stop DIR"
	DIR=$2
	cmd_stop
	;;
*) die "usage: $0 start DIR BACKEND | stop DIR" ;;
esac
