# Single entry point: `make demo` runs the main job on the embedded sample,
# `make test` runs every check. Both install what they need on a fresh
# Debian machine first (apt packages from bindep.txt, a local virtualenv,
# the collection linked into a collections path).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BUILD := .build
COLLECTIONS := $(abspath $(BUILD)/collections)
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/winimage/generalize
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := $(shell awk '!/^\#/ && /platform:dpkg/ {print $$1}' bindep.txt)

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup system-packages venv collection demo test generated
.PHONY: pytest pytest-fast stage sanity units lint ps-contract docs changelog ee

help:
	@echo "make demo   - run the offline demo on the embedded sample (no Windows host needed)"
	@echo "make test   - install everything and run the whole test suite"
	@echo "make setup  - only install: apt packages, $(VENV), collection link"
	@echo "Checks, each alone (docs/contributing.md):"
	@echo "  make pytest       pytest over tests/unit, tests/integration, tests/quality + coverage of plugins/"
	@echo "  make pytest-fast  the same without the tests marked slow"
	@echo "  make sanity       ansible-test sanity on a staged copy (.ps1 modules without pwsh)"
	@echo "  make units        ansible-test units on the staged copy"
	@echo "  make lint         ansible-lint --offline, production profile, roles/ and playbooks/"
	@echo "  make ps-contract  PowerShell modules parse and match their docs sidecars"
	@echo "  make docs         build + install the tarball, ansible-doc every plugin"
	@echo "  make changelog    antsibull-changelog lint + antsibull-docs lint-collection-docs"
	@echo "  make ee           ansible-builder create on execution-environment.yml"

setup: system-packages venv collection

# apt only runs when a package from bindep.txt is missing, so repeated runs are fast.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null; \
	fi

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

# The repository root is the collection root: link it where Ansible looks.
collection:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(CURDIR) $(COLLECTION_LINK)

# ---------------------------------------------------------------------------
# Quality checks. Each runs alone; `make test` runs them all, then pytest.
# The logic lives in tests/quality/qa.py so the planted-mistake tests in
# tests/quality/ exercise exactly what these targets run.
QA := $(BIN)/python tests/quality/qa.py
QA_RESULTS := $(BUILD)/quality
CHECKS := ps-contract sanity units lint docs changelog ee
COVERAGE_ARGS := --cov=plugins --cov-report=term
PYTEST_ARGS ?=

stage: setup
	$(QA) stage

sanity: setup
	$(QA) sanity

units: setup
	$(QA) units

lint: setup
	$(QA) lint

ps-contract: setup
	$(QA) ps-contract

docs: setup
	$(QA) docs

changelog: setup
	$(QA) changelog

ee: setup
	$(QA) ee

pytest: setup
	$(BIN)/python -m pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)

pytest-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Every check runs even when an earlier one fails; each one's exit status and
# log land in $(QA_RESULTS). pytest runs last: tests/quality/test_check_results.py
# turns each recorded failure into a failed test, so pytest's summary line is
# the last output and the exit status covers every check.
test: setup
	@rm -rf $(QA_RESULTS) && mkdir -p $(QA_RESULTS); \
	started=$$(date +%s); \
	for check in $(CHECKS); do \
	  echo "==> make $$check"; check_started=$$(date +%s); \
	  $(MAKE) --no-print-directory $$check 2>&1 | tee $(QA_RESULTS)/$$check.log; \
	  echo $${PIPESTATUS[0]} > $(QA_RESULTS)/$$check.rc; \
	  echo "==> make $$check: exit $$(cat $(QA_RESULTS)/$$check.rc) after $$(( $$(date +%s) - check_started ))s"; \
	done; \
	echo "==> checks took $$(( $$(date +%s) - started ))s; pytest runs last and reports their results"; \
	WINIMAGE_QA_RESULTS=$(abspath $(QA_RESULTS)) $(BIN)/python -m pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)

# ---------------------------------------------------------------------------
# The main job on the embedded default: builds sample reference disks and WIMs
# with the test-data builder, runs the preflight (offline) and verify playbooks,
# and prints where the reports are. Needs no Windows host.
DEMO_OUT ?= demo-output

demo: setup
	$(BIN)/python tools/demo.py --out $(DEMO_OUT)

# Rewrite the schemas and reference docs generated from plugins/module_utils.
generated: setup
	$(BIN)/python tools/generate.py
