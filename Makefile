# aurora-ansible: `make demo` runs the main job against the embedded simulator, `make test` passes
# the tests. Both set up what they need on a fresh machine (Rust build, Python venv).

SHELL := /bin/bash
ANSIBLE_CORE_VERSION := 2.19.14
COLLECTION := ansible_collections/aurora/scheduler
VENV := .venv
# Cargo's own target directory when one is set, as in a shared build.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RELEASE := $(TARGET_DIR)/release
# The module executable: static (musl) for each Linux platform, built with Cargo's `module`
# profile (small: Ansible copies it to a remote host per task) by cargo-zigbuild, with zig as the
# C compiler and linker for every platform (both from PyPI, pinned here), into the collection's
# executables/, where each module's action plugin picks the one for the host.
PLATFORMS := x86_64 aarch64
HOST_PLATFORM := $(patsubst arm64,aarch64,$(shell uname -m))
EXECUTABLES := $(COLLECTION)/executables
ZIGLANG_VERSION := 0.17.1
CARGO_ZIGBUILD_VERSION := 0.24.1
# The review gates' tools, in a venv of their own (ansible-lint pins its own dependencies).
LINT_VENV := .venv-lint
ANSIBLE_LINT_VERSION := 26.1.0
ANTSIBULL_CHANGELOG_VERSION := 0.29.0

.PHONY: help build executables toolchain venv browser qemu zookeeper lint-collection test test-rust test-integration soak fuzz demo bench collection fmt lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: venv ## build the CLI and aurora-sim, and the module executable for this machine into the collection
	cargo build --release --locked --bins
	$(MAKE) --no-print-directory executable-$(HOST_PLATFORM)

executables: $(addprefix executable-,$(PLATFORMS)) ## the module executable for every platform the collection ships

executable-%: venv toolchain
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo zigbuild --quiet --profile module --locked --bin aurora-ansible --target $*-unknown-linux-musl
	install -D -m 0755 $(TARGET_DIR)/$*-unknown-linux-musl/module/aurora-ansible $(EXECUTABLES)/aurora-ansible-linux-$*

toolchain: ## Rust's standard library for the musl targets (rustup), when missing
	@installed=$$(rustup target list --installed); \
	for platform in $(PLATFORMS); do \
	  target=$$platform-unknown-linux-musl; \
	  grep -qx $$target <<<"$$installed" || rustup target add $$target || \
	    { echo "cannot install Rust's $$target target with rustup; the static executables need it" >&2; exit 1; }; \
	done

VENV_STAMP := $(VENV)/.installed-ansible-core-$(ANSIBLE_CORE_VERSION)-zig-$(ZIGLANG_VERSION)-$(CARGO_ZIGBUILD_VERSION)
venv: $(VENV_STAMP) ## Python venv with the pinned ansible-core, zig and cargo-zigbuild

$(VENV_STAMP):
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ansible-core==$(ANSIBLE_CORE_VERSION) \
	  ziglang==$(ZIGLANG_VERSION) cargo-zigbuild==$(CARGO_ZIGBUILD_VERSION)
	touch $@

test: lint-collection test-rust test-integration ## every test: Rust (unit, conformance, snapshots) then ansible-playbook

browser: ## headless Chromium (Debian package) for the compliance report's HTML test, installed when missing
	scripts/install_deb.sh chromium chromium "the compliance report's browser test"

qemu: ## qemu-user (Debian package) to run the aarch64 executable's test on another machine, installed when missing
	scripts/install_deb.sh qemu-aarch64 qemu-user "the aarch64 executable's test"

zookeeper: ## ZooKeeper (Debian package) for the zookeeper target's real ensemble, installed when missing
	scripts/install_deb.sh /usr/share/zookeeper/bin/zkServer.sh zookeeper "the ZooKeeper tests"

test-rust: ## Rust tests; stale insta snapshots fail
	INSTA_UPDATE=no cargo test --release --locked

test-integration: build executables venv browser qemu zookeeper ## ansible-playbook tests against aurora-sim (TARGETS="a b" for some)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" tests/integration/run.sh

soak: build venv ## the fault-injection target for longer: FAULT_ROUNDS rounds (default 30), FAULT_SEED
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" FAULT_ROUNDS=$${FAULT_ROUNDS:-30} FAULT_SEED=$${FAULT_SEED:-$$RANDOM} \
	  bash tests/integration/targets/faults/run.sh

# The fuzz targets of tests/fuzz.rs (both Thrift decoders, the module arguments parser) run in
# `make test` with fixed seeds and counts; this runs them FUZZ_CASES times longer.
FUZZ_CASES ?= 50
fuzz: ## fuzz the Thrift decoders and the module arguments parser longer than make test does
	FUZZ_CASES=$(FUZZ_CASES) cargo test --release --locked --test fuzz -- --nocapture --test-threads 2

demo: build venv ## start aurora-sim and run playbooks/demo.yml against it (the platform profile, a service, a cron job, a batch framework)
	scripts/demo.sh

bench: build venv ## print the figures design.md sets targets for
	scripts/bench.sh

collection: executables venv ## build the collection tarball into build/, with the executable of every platform
	scripts/build_collection.sh $(VENV)/bin/ansible-galaxy $(COLLECTION) build $(PLATFORMS)

fmt: ## format the Rust code
	cargo fmt --all

lint: lint-collection ## formatting and clippy (warnings as errors), then the collection's review gates
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

LINT_STAMP := $(LINT_VENV)/.installed-ansible-core-$(ANSIBLE_CORE_VERSION)-lint-$(ANSIBLE_LINT_VERSION)-$(ANTSIBULL_CHANGELOG_VERSION)
$(LINT_STAMP):
	rm -rf $(LINT_VENV)
	python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check ansible-core==$(ANSIBLE_CORE_VERSION) \
	  ansible-lint==$(ANSIBLE_LINT_VERSION) antsibull-changelog==$(ANTSIBULL_CHANGELOG_VERSION)
	touch $@

lint-collection: $(LINT_STAMP) ## ansible-test sanity, ansible-lint --profile production and the changelog lint on the collection
	scripts/lint/collection.sh $(LINT_VENV) $(COLLECTION)

clean: ## remove build outputs and the venv
	cargo clean
	rm -rf $(VENV) $(LINT_VENV) build $(EXECUTABLES)
