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

.PHONY: help setup system-packages venv collection demo test

help:
	@echo "make demo   - run the offline demo on the embedded sample (no Windows host needed)"
	@echo "make test   - install everything and run the whole test suite"
	@echo "make setup  - only install: apt packages, $(VENV), collection link"

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
