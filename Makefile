# Whistle: everyday commands. Nothing needs an activated virtualenv (.venv/bin/... paths).
#   make setup   the virtualenv with the project installed (scripts/setup.sh)
#   make run     setup, migrate the database, seed the demo data, serve (+ the app if $DISPLAY)
#   make lint    ruff (lint + format check) and mypy
#   make test    test packages, PostgreSQL for tests, lint, then the whole test suite

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

# The PostgreSQL server the tests use (scripts/postgres-test.sh prepares this one).
export WHISTLE_TEST_PG_URL ?= postgresql+psycopg://whistle:whistle@127.0.0.1:5432/whistle_test

.PHONY: help setup run lint test

help:
	@sed -n '2,6p' Makefile | sed 's/^# //'

setup:
	bash scripts/setup.sh

# `make run` with a display ($$DISPLAY set): the server in the background and the tablet app
# in the foreground, pointed at it (sign in as inspector / whistle-demo); closing the app
# stops the server. Without a display: the server only, as before.
RUN_HOST ?= 127.0.0.1
RUN_PORT ?= 8000
RUN_URL := http://$(RUN_HOST):$(RUN_PORT)

run: setup
	$(VENV)/bin/whistle-server migrate
	$(VENV)/bin/whistle-server seed-demo
	@if [ -z "$${DISPLAY:-}" ]; then \
		echo "run: no display (DISPLAY is unset): serving only. With a desktop, start the app with:"; \
		echo "run:   $(PY) -m inspector_app --server $(RUN_URL)"; \
		exec $(VENV)/bin/whistle-server serve --host $(RUN_HOST) --port $(RUN_PORT); \
	fi; \
	$(VENV)/bin/whistle-server serve --host $(RUN_HOST) --port $(RUN_PORT) & server=$$!; \
	trap 'kill $$server 2>/dev/null || true; wait $$server 2>/dev/null || true' EXIT INT TERM; \
	for _ in $$(seq 100); do \
		$(PY) -c 'import sys, httpx; httpx.get(sys.argv[1] + "/api/v1/health", timeout=1).raise_for_status()' \
			$(RUN_URL) 2>/dev/null && break; \
		sleep 0.2; \
	done; \
	echo "run: server at $(RUN_URL); starting the tablet app (sign in as inspector / whistle-demo)"; \
	$(PY) -m inspector_app --server $(RUN_URL) --data-dir var/tablet

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test:
	bash scripts/setup.sh --test-deps
	bash scripts/postgres-test.sh
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)
