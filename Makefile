# fakevoipbin: every target sets up .venv from pyproject.toml when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8088
PROFILE ?= docs
ARGS   ?=
#: pytest-xdist workers for make test (auto: one per core)
JOBS   ?= auto

.PHONY: run test test-wheel test-go test-browser image test-image lint docs bench fuzz venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Serve the fake with the default fixtures on http://$(HOST):$(PORT)/v1.0
run: $(STAMP)
	$(BIN)/fakevoipbin serve --host $(HOST) --port $(PORT) --profile $(PROFILE) $(ARGS)

## The whole test suite, on every core (pytest-xdist)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) $(ARGS)

## The built wheel in fresh venvs (newest deps on Python 3.10-3.13, declared floors on 3.10), -W error
test-wheel: $(STAMP)
	$(BIN)/python -m tests.wheel_check $(ARGS)

## A Go program with the production URL hard-coded reaches the fake through run --intercept (needs go)
test-go: $(STAMP)
	$(BIN)/python -m tests.go_check $(ARGS)

BROWSER_STAMP := $(VENV)/.browser-installed
#: Where make test-browser saves the docs' screenshots (make test-browser SCREENSHOTS=docs/images)
SCREENSHOTS ?=

$(BROWSER_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,browser]'
	touch $(BROWSER_STAMP)

## The HTML report and /_fake/ui in headless Chromium (Debian's chromium and chromium-driver)
test-browser: $(BROWSER_STAMP)
	FAKEVOIPBIN_TEST_BROWSER=1 FAKEVOIPBIN_SCREENSHOTS='$(SCREENSHOTS)' \
		$(BIN)/python -m pytest -q -p no:xdist tests/browser $(ARGS)

#: The image's tag and base (make image IMAGE=my/fakevoipbin:1 BASE=python:3.13-slim).
IMAGE  ?= fakevoipbin:latest
BASE   ?=
IMAGE_STAMP := $(VENV)/.image-installed

$(IMAGE_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,image]'
	touch $(IMAGE_STAMP)

## Build the image from the Dockerfile: docker, or podman where docker has no daemon
image: $(STAMP)
	IMAGE='$(IMAGE)' BASE='$(BASE)' $(BIN)/python -m tests.image_check --build-only

## Build the image, then check it and every CI recipe in docs/recipes (installs podman if missing)
test-image: $(IMAGE_STAMP)
	IMAGE='$(IMAGE)' BASE='$(BASE)' $(BIN)/python -m tests.image_check $(ARGS)

## Schemathesis at scale against the fake, both profiles: make fuzz ARGS='--requests 10000'
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz $(ARGS)

## ruff (lint and format check) and mypy over the package
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fakevoipbin

DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $(DOCS_STAMP)

## The docs site (MkDocs, Material) into site/: reference pages rendered from the code; a warning fails it
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean

clean:
	rm -rf $(VENV) build dist *.egg-info .hypothesis site

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## Speed and memory against baselines measured in the same run (loopback only)
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(ARGS)
