#!/usr/bin/env bash
# Builds the Linux packages (.deb, .rpm) with the Tauri bundler: `.ci/bundle.sh release` for
# `make dist`, `.ci/bundle.sh debug` for the install test. The bundler builds the window
# (`privacy-desk-gui`); the headless `privacy-desk`, which the packages install beside it in
# /usr/bin, is built first and copied where tauri.conf.json's `files` take it from.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-release}
target=${CARGO_TARGET_DIR:-target}
case "$profile" in
  release) cargo build --release --locked -p privacy-desk-cli; flag=() ;;
  debug) cargo build --locked -p privacy-desk-cli; flag=(--debug) ;;
  *) echo "bundle: profile must be release or debug, not $profile" >&2; exit 2 ;;
esac
mkdir -p src-tauri/binaries
cp "$target/$profile/privacy-desk" src-tauri/binaries/privacy-desk
rm -rf "$target/$profile/bundle"
ui/node_modules/.bin/tauri build "${flag[@]}" --bundles deb,rpm
ls "$target/$profile"/bundle/deb/*.deb "$target/$profile"/bundle/rpm/*.rpm
