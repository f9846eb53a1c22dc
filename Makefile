# aurora-ansible: `make demo` runs the main job against the embedded simulator, `make test` passes
# the tests. Both set up what they need on a fresh machine (Rust build, Python venv).

SHELL := /bin/bash
ANSIBLE_CORE_VERSION := 2.19.14
# Every module name the one executable answers to (dispatch is on `_ansible_module_name`).
MODULES := job job_info job_update instances quota cron_job host_info host_maintenance platform fair_share software_inventory
COLLECTION := ansible_collections/aurora/scheduler
MODULE_DIR := $(COLLECTION)/plugins/modules
VENV := .venv
# Cargo's own target directory when one is set, as in a shared build.
RELEASE := $(or $(CARGO_TARGET_DIR),target)/release
# The module executable is built with Cargo's `module` profile (small: Ansible copies it per task).
MODULE_BUILD := $(or $(CARGO_TARGET_DIR),target)/module

.PHONY: help build venv browser test check-collection test-rust test-integration soak fuzz demo bench collection fmt lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build both binaries and install the module executable into the collection
	cargo build --release --locked --bins
	cargo build --profile module --locked --bin aurora-ansible
	@# One real file under the first module name, relative links for the others: links inside the
	@# collection survive `ansible-galaxy collection build` (binary-modules.md §4.2).
	@# Links of names no longer in MODULES are removed.
	@find $(MODULE_DIR) -mindepth 1 -type l -delete
	@first=$(firstword $(MODULES)); \
	install -m 0755 $(MODULE_BUILD)/aurora-ansible $(MODULE_DIR)/$$first; \
	for m in $(wordlist 2,99,$(MODULES)); do ln -sfn $$first $(MODULE_DIR)/$$m; done

venv: $(VENV)/.ansible-core-$(ANSIBLE_CORE_VERSION) ## Python venv with the pinned ansible-core

$(VENV)/.ansible-core-$(ANSIBLE_CORE_VERSION):
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ansible-core==$(ANSIBLE_CORE_VERSION)
	touch $@

test: check-collection test-rust test-integration ## every test: Rust (unit, conformance, snapshots) then ansible-playbook

browser: ## headless Chromium (Debian package) for the compliance report's HTML test, installed when missing
	scripts/install_chromium.sh

check-collection: ## every module is in the action group, so module_defaults reach it
	@for m in $(MODULES); do \
	  grep -Eq "^ +- $$m$$" $(COLLECTION)/meta/runtime.yml || { echo "module $$m is missing from action_groups.all in meta/runtime.yml" >&2; exit 1; }; \
	done

test-rust: ## Rust tests; stale insta snapshots fail
	INSTA_UPDATE=no cargo test --release --locked

test-integration: build venv browser ## ansible-playbook tests against aurora-sim (TARGETS="a b" for some)
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

collection: build venv ## build the collection tarball into build/
	mkdir -p build
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build $(COLLECTION)

fmt: ## format the Rust code
	cargo fmt --all

lint: ## formatting and clippy, warnings as errors
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

clean: ## remove build outputs and the venv
	cargo clean
	rm -rf $(VENV) build
	find $(MODULE_DIR) -mindepth 1 ! -name '*.yml' ! -name README.md -delete
