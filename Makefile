# Whistle: everyday commands. Nothing needs an activated virtualenv (.venv/bin/... paths).
#   make setup   the virtualenv with the project installed (scripts/setup.sh)
#   make run     setup, migrate the database, seed the demo data, serve
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

run: setup
	$(VENV)/bin/whistle-server migrate
	$(VENV)/bin/whistle-server seed-demo
	$(VENV)/bin/whistle-server serve

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test:
	bash scripts/setup.sh --test-deps
	bash scripts/postgres-test.sh
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)
