#!/usr/bin/env bash
# Idempotent development setup, run by `make setup`. Each step is skipped when already done:
#   1. Debian/Ubuntu system packages (apt, only when `dpkg` reports some missing)
#   2. Rust components (rustfmt, clippy) and tauri-driver (Linux only)
#   3. UI dependencies (`npm ci`), re-run only when ui/package*.json or Node change
#   4. Python venv at .venv for tests/peer (re-run only when its requirements change)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev build-essential libssl-dev libayatana-appindicator3-dev librsvg2-dev
  libxdo-dev pkg-config xvfb xauth webkit2gtk-driver dbus dbus-x11 gnome-keyring
  libsecret-1-dev keyutils imagemagick python3 python3-venv poppler-utils x11-utils rpm
)

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'setup: %s\n' "$*" >&2
  exit 1
}

# Prints the packages that are not fully installed ("ii"), one per line.
missing_apt_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || echo "$pkg"
  done
}

setup_system_packages() {
  if ! command -v dpkg-query >/dev/null; then
    say "not a Debian/Ubuntu system: skipping system packages (see README.md)"
    return
  fi
  local missing
  missing=$(missing_apt_packages)
  [ -z "$missing" ] && return

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing packages and no sudo; as root run: apt-get install -y $(echo $missing)"
    sudo=(sudo)
  fi
  say "installing system packages: $(echo $missing)"
  # The first install on a fresh image can fail with "dpkg-split: failed to read archive":
  # the same command succeeds when run again.
  local attempt
  for attempt in 1 2 3 4; do
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${APT_PACKAGES[@]}"; then
      break
    fi
    [ "$attempt" -lt 4 ] || break
    say "apt-get failed (attempt $attempt of 4), retrying"
    sleep $((attempt * 3))
  done
  missing=$(missing_apt_packages)
  [ -z "$missing" ] || die "could not install: $(echo $missing)"
}

setup_toolchains() {
  command -v cargo >/dev/null ||
    die "Rust is not installed: install it from https://rustup.rs, then open a new shell"
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "Node.js 20 or newer is not installed: see https://nodejs.org/en/download"
  node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
    die "Node.js $(node --version) is too old: install Node.js 20 or newer"

  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || die "cargo fmt/clippy are missing and rustup is not installed"
    say "installing rustfmt and clippy"
    rustup component add rustfmt clippy
  fi

  # tauri-driver drives the window in tests/e2e (WebKitWebDriver comes from webkit2gtk-driver).
  if [ "$(uname -s)" = Linux ] && ! command -v tauri-driver >/dev/null &&
    [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
    say "installing tauri-driver"
    cargo install tauri-driver --version '^2' --locked
  fi
}

# Runs "$@" unless $stamp holds $key; records $key afterwards.
unless_stamped() {
  local stamp=$1 key=$2
  shift 2
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
    return
  fi
  "$@"
  printf '%s\n' "$key" >"$stamp"
}

install_ui_deps() {
  say "installing UI dependencies"
  if [ -f ui/package-lock.json ]; then
    npm --prefix ui ci
  else
    npm --prefix ui install
  fi
}

setup_ui() {
  local key
  key="node $(node --version) $(cat ui/package.json ui/package-lock.json 2>/dev/null | cksum)"
  unless_stamped ui/node_modules/.privacy-desk-setup "$key" install_ui_deps
}

create_venv() {
  say "creating the Python venv at .venv"
  rm -rf .venv
  python3 -m venv .venv
  if [ -f tests/peer/requirements.txt ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/peer/requirements.txt
  fi
}

setup_venv() {
  command -v python3 >/dev/null || die "python3 is not installed"
  local key
  key="$(python3 --version) $(cat tests/peer/requirements.txt 2>/dev/null | cksum)"
  if [ ! -x .venv/bin/python ]; then
    rm -f .venv/.privacy-desk-setup
  fi
  unless_stamped .venv/.privacy-desk-setup "$key" create_venv
}

setup_system_packages
setup_toolchains
setup_ui
setup_venv
