#!/usr/bin/env bash
# Usage: .ci/with-session.sh CMD [ARGS...]
#
# Runs CMD on Linux inside a throwaway desktop session, so tests can open windows and use a real
# keychain without touching the user's own:
#   - keyctl session -    a fresh session keyring (keyutils store)
#   - dbus-run-session    a private session bus (no stray dbus-launch/at-spi daemons)
#   - xvfb-run            a virtual X display, 1280x800x24
#   - gnome-keyring       unlocked with a throwaway password, in a fresh XDG_DATA_HOME
# Everything is torn down when CMD exits; its exit status is returned.
# On other systems CMD runs as is (the OS keychain and display are used).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

if [ "$(uname -s)" != Linux ]; then
  exec "$@"
fi

for tool in keyctl dbus-run-session xvfb-run xauth gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || {
    echo "with-session: '$tool' is missing: run 'make setup'" >&2
    exit 1
  }
done

data_home=$(mktemp -d "${TMPDIR:-/tmp}/privacy-desk-session.XXXXXX")
trap 'rm -rf "$data_home"' EXIT

# gnome-keyring needs a non-empty password, or it creates no login keyring; without the
# `sleep 1`, the first keychain call sometimes fails with NoResult.
# shellcheck disable=SC2016
XDG_DATA_HOME=$data_home keyctl session - \
  dbus-run-session -- \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  sh -c '
    export NO_AT_BRIDGE=1
    echo privacy-desk-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    sleep 1
    exec "$@"
  ' with-session "$@"
