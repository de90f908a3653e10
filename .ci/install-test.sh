#!/usr/bin/env bash
# The packages, as a small business gets them (`make test` runs this last, on Linux):
#   1. the Tauri bundler builds the .deb and .rpm from the build `make test` already has
#      (debug profile; `make dist` makes the release ones the same way);
#   2. the .rpm's contents are checked (`rpm -qlp`);
#   3. the .deb is installed with apt-get; the installed `privacy-desk --version` and one
#      headless workflow (`processor add stripe --json`) run, and the installed app opens its
#      window under Xvfb;
#   4. the package is removed: /usr/bin/privacy-desk is gone, the data directory stays.
# It installs system-wide: run it on a test machine (CI), as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
profile=${PD_DIST_PROFILE:-debug}
say() { printf '==> install-test: %s\n' "$*"; }
die() {
  printf 'install-test: %s\n' "$*" >&2
  exit 1
}
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "needs root or sudo to install the package"
  sudo=sudo
fi

# 1. Bundle (the CLI binary goes in beside the window's: src-tauri/binaries, see tauri.conf.json).
.ci/bundle.sh "$profile"
deb=$(ls "$target/$profile"/bundle/deb/*.deb)
rpm=$(ls "$target/$profile"/bundle/rpm/*.rpm)

# 2. The .rpm holds what the .deb does.
say "rpm contents: $rpm"
listed=$(rpm -qlp "$rpm" 2>/dev/null)
for f in /usr/bin/privacy-desk /usr/bin/privacy-desk-gui \
  "/usr/share/applications/Privacy Desk.desktop" \
  /usr/share/metainfo/app.privacydesk.desktop.metainfo.xml \
  /usr/share/icons/hicolor/16x16/apps/privacy-desk-gui.png \
  /usr/share/icons/hicolor/48x48/apps/privacy-desk-gui.png \
  /usr/share/icons/hicolor/256x256/apps/privacy-desk-gui.png \
  /usr/share/icons/hicolor/512x512/apps/privacy-desk-gui.png; do
  grep -qxF "$f" <<<"$listed" || die "the .rpm lacks $f"
done
version=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' tauri.conf.json | head -1)
rpm -qp --queryformat '%{VERSION}' "$rpm" 2>/dev/null | grep -qxF "$version" ||
  die "the .rpm's version is not tauri.conf.json's $version"

# 3. Install the .deb and use it.
say "installing $deb"
$sudo apt-get install -y --no-install-recommends "$(realpath "$deb")" >/dev/null
trap '$sudo apt-get remove -y privacy-desk >/dev/null 2>&1 || true' EXIT
[ "$(command -v privacy-desk)" = /usr/bin/privacy-desk ] || die "privacy-desk is not on PATH"
privacy-desk --version | grep -qxF "privacy-desk $version" || die "wrong --version: $(privacy-desk --version)"
data=$(mktemp -d)
trap '$sudo apt-get remove -y privacy-desk >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
cat >"$data/use.sh" <<'EOS'
#!/bin/sh
# Inside the throwaway session: one headless workflow, then the window.
set -eu
data=$1
privacy-desk --data-dir "$data/desk" processor add stripe --json >"$data/added.json"
grep -q '"kind": "stripe"' "$data/added.json" || { echo "processor add printed: $(cat "$data/added.json")" >&2; exit 1; }
privacy-desk --data-dir "$data/desk" >/dev/null 2>&1 &
app=$!
for _ in $(seq 1 150); do
  if xwininfo -root -tree 2>/dev/null | grep -q '"Privacy Desk": ("privacy-desk-gui"'; then
    kill "$app"; wait "$app" 2>/dev/null || true
    exit 0
  fi
  sleep 0.2
done
kill "$app" 2>/dev/null || true
echo "the installed app showed no window titled Privacy Desk" >&2
exit 1
EOS
chmod +x "$data/use.sh"
.ci/with-session.sh "$data/use.sh" "$data" || die "the installed package did not work"
[ -f "$data/desk/privacy-desk.db" ] || die "no database in the data directory"

# 4. Remove it: the programs go, the data stays.
say "removing the package"
$sudo apt-get remove -y privacy-desk >/dev/null
[ ! -e /usr/bin/privacy-desk ] || die "/usr/bin/privacy-desk is still there after removal"
[ ! -e /usr/bin/privacy-desk-gui ] || die "/usr/bin/privacy-desk-gui is still there after removal"
[ -f "$data/desk/privacy-desk.db" ] || die "removing the package removed the data directory"
say "ok: built, installed, used, removed; the data directory was kept"
