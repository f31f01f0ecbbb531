#!/usr/bin/env bash
# The whole test suite: `bash scripts/test.sh` (extra arguments go to `go test`,
# e.g. -race or -run). Keychain tests need a Secret Service: when the session
# has none, this starts a private D-Bus session with an unlocked
# gnome-keyring for the run (Debian packages dbus and gnome-keyring).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${WCDEPLOY_IN_KEYRING_SESSION:-}" && -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]] \
	&& command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
	export WCDEPLOY_IN_KEYRING_SESSION=1
	# dbus-daemon warns that an unprivileged user cannot raise its fd limit;
	# that is harmless, and it is not the first thing a reader should see.
	exec dbus-run-session -- bash "$0" "$@" 2> >(grep --line-buffered -v 'Failed to set fd limit' >&2)
fi

if [[ -n "${WCDEPLOY_IN_KEYRING_SESSION:-}" ]]; then
	# A throwaway keyring: its password only unlocks this run's test keyring.
	export XDG_DATA_HOME
	XDG_DATA_HOME="$(mktemp -d)"
	# The daemon's own start-up chatter (warnings about other daemons it did
	# not find) goes to a log, not to the top of the test output.
	printf 'wcdeploy-test\n' | gnome-keyring-daemon --unlock --components=secrets \
		>/dev/null 2>"$XDG_DATA_HOME/gnome-keyring.log" \
		|| { echo "gnome-keyring did not start:"; cat "$XDG_DATA_HOME/gnome-keyring.log"; exit 1; }
	echo "keychain tests: a private, unlocked Secret Service (gnome-keyring) for this run"
	export WCDEPLOY_TEST_KEYRING=1
fi

exec go test "$@" ./...
