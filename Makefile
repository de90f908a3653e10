# Privacy Desk — developer entry points. See README.md.
#   make run     set up, build the UI, open the app
#   make test    set up, then every check and test (what CI runs, via .ci/run)
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# One target dir outside the checkout, shared by every cargo command.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/privacy-desk/target

NPM := npm --prefix ui
# Runs a command with a virtual display, a private D-Bus and a throwaway unlocked keychain.
WITH_SESSION := .ci/with-session.sh

.PHONY: help setup build run test bench fmt lint bindings proptest-long dist

help:
	@echo "make run     set up, build the UI and open the app"
	@echo "make test    set up, then fmt, svelte-check, vitest, UI build, clippy, cargo test, and"
	@echo "             on Linux the package install test (.ci/install-test.sh: installs system-wide)"
	@echo "make dist    the Linux packages (.deb, .rpm) in $(CARGO_TARGET_DIR)/release/bundle/"
	@echo "make build   release binary at $(CARGO_TARGET_DIR)/release/privacy-desk"
	@echo "make setup   install only what is missing (apt packages, tauri-driver, npm, .venv)"
	@echo "make fmt     format the Rust code"
	@echo "make bindings  regenerate the TypeScript types from the Rust types"
	@echo "make lint    clippy and svelte-check"
	@echo "make bench   every benchmark (ingest, writer, catchup, activity, access, scale, startup with a 20-minute soak)"
	@echo "make proptest-long  the property tests with a million cases each (optimised build)"

setup:
	.ci/setup.sh

# Each recipe below runs its steps in order (also under make -j). The UI is built first:
# cargo embeds ui/dist into the binary.
build: setup
	$(NPM) run build
	cargo build --release

run: setup
	$(NPM) run build
	cargo run

test: setup
	cargo fmt --check
	$(NPM) run check
	$(NPM) test
	$(NPM) run build
	cargo clippy --all-targets --locked -- -D warnings
	$(WITH_SESSION) cargo test --locked
	@if [ "$$(uname -s)" = Linux ]; then .ci/install-test.sh; fi

# The Linux packages (.deb and .rpm, release build) in $(CARGO_TARGET_DIR)/release/bundle/.
dist: setup
	$(NPM) run build
	.ci/bundle.sh release

bench: setup
	$(NPM) run build
	cargo build --release --locked
	$(WITH_SESSION) cargo bench --bench ingest
	cargo bench --bench writer
	$(WITH_SESSION) cargo bench --bench catchup
	cargo bench --bench activity
	$(WITH_SESSION) cargo bench --bench access
	$(WITH_SESSION) cargo bench --bench scale
	PD_SOAK_MINUTES=$${PD_SOAK_MINUTES:-20} $(WITH_SESSION) cargo bench --bench startup

fmt:
	cargo fmt

# Every property test (`props` in its name) with a million cases each, optimised but with
# overflow checks kept on, as in debug builds (README.md, "Property tests").
proptest-long:
	PROPTEST_CASES=1000000 CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true cargo test --release -p privacy-desk-core --lib props

# Regenerates ui/src/lib/bindings (the types and ipc.ts) from the Rust IPC contract (cargo test
# fails when they are stale).
bindings:
	UPDATE_BINDINGS=1 cargo test -p privacy-desk-desktop bindings

lint: setup
	$(NPM) run check
	$(NPM) run build
	cargo clippy --all-targets --locked -- -D warnings
