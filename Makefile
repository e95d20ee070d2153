# cellpipe: `make lab` and `make test` set up everything they need on a fresh machine.
# Stamps under build/stamps make a second run skip what is already installed.
SHELL := /bin/bash
.DEFAULT_GOAL := lab

VENV := .venv
PYTHON ?= python3
STAMPS := build/stamps
REPORTS := build/reports
# Tools from the venv (jupyter-builder, jupyter) must be found by the commands we run.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: lab test build develop bench corpus clean wheel cluster cluster-kfp cluster-down test-cluster

## lab: set up, build, and start JupyterLab with cellpipe on examples/
lab: develop
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=examples --allow-root

## test: set up, build, and run every suite; the last line is "N passed, N failed"
test: develop $(STAMPS)/chromium $(STAMPS)/ui-npm
	@mkdir -p $(REPORTS)
	@rm -f $(REPORTS)/*.json $(REPORTS)/*.xml ui-tests/test-results/results.json
	-.ci/checks.sh $(REPORTS)/checks.json
	-npx jest --json --outputFile=$(REPORTS)/jest.json
	-$(VENV)/bin/pytest -q --junitxml=$(REPORTS)/pytest.xml
	-cd ui-tests && CI=1 npx playwright test
	@$(PYTHON) .ci/summarize.py checks=$(REPORTS)/checks.json jest=$(REPORTS)/jest.json pytest=$(REPORTS)/pytest.xml \
		playwright=ui-tests/test-results/results.json

## build: the frontend (tsc + labextension) and the Node bundles (server, CLI)
build: $(STAMPS)/npm
	npm run build

## develop: cellpipe installed in the venv in development mode, its labextension linked
develop: build $(STAMPS)/venv
	$(VENV)/bin/jupyter-builder develop . --overwrite > /dev/null
	@$(VENV)/bin/jupyter labextension list 2>&1 | grep -q 'cellpipe.*enabled.*OK' \
		|| { echo "cellpipe is not listed as enabled OK by jupyter labextension list"; exit 1; }

## bench: print the benchmark figures (not tests)
bench: develop $(STAMPS)/chromium $(STAMPS)/ui-npm
	node bench/run.mjs
	$(VENV)/bin/pip install --quiet -e '.[test,bench]'
	$(VENV)/bin/python bench/engine.py
	$(VENV)/bin/python bench/fingerprint.py
	$(VENV)/bin/python bench/kernel.py
	# bench/browser.spec.ts finds galata in ui-tests/node_modules.
	cd ui-tests && NODE_PATH=$(CURDIR)/ui-tests/node_modules CI=1 npx playwright test -c playwright.bench.config.js

## corpus: the real-notebook corpus run top to bottom and as pipelines (about an hour; prints the figures)
corpus: develop
	$(VENV)/bin/python bench/corpus.py

$(STAMPS)/npm: package.json package-lock.json
	# npm ci rejects this lock file (npm 11 and rspack's per-platform optional bindings); install follows the lock.
	npm install --no-audit --no-fund
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/ui-npm: ui-tests/package.json ui-tests/package-lock.json
	cd ui-tests && npm ci --no-audit --no-fund
	@mkdir -p $(STAMPS) && touch $@

# The editable install finds the build outputs in place (skip-if-exists), so build comes first.
$(STAMPS)/venv: pyproject.toml | build
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@mkdir -p $(STAMPS) && touch $@

# Debian's Chromium for the UI tests (Playwright never downloads a browser here).
$(STAMPS)/chromium:
	command -v chromium > /dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	@mkdir -p $(STAMPS) && touch $@

## wheel: the cellpipe wheel (build/wheel/), what the notebook image installs
wheel: build
	rm -rf build/wheel && $(VENV)/bin/pip wheel --quiet --no-deps -w build/wheel .

## cluster: build the local Kubernetes lab (cached under build/cluster: a second run only starts it) and
## start it, with JupyterLab and cellpipe in a notebook pod; see cluster/README.md
cluster: develop wheel
	cluster/scripts/build.sh
	cluster/image/build-notebook.sh build/wheel/cellpipe-*.whl
	cluster/scripts/up.sh

## cluster-kfp: Kubeflow Pipelines 2.17 on the lab, built from KFP_SRC (a tree of kubeflow/pipelines at tag 2.17.0,
## which no registry here serves); see cluster/README.md, "KFP"
cluster-kfp: cluster
	cluster/kfp/build.sh
	cluster/kfp/up.sh

## cluster-down: stop the lab and return the machine to how it was
cluster-down:
	cluster/scripts/down.sh

## test-cluster: the end-to-end suite on the lab (starts it first, and KFP when KFP_SRC is set); the last line is
## "N passed, N failed"
test-cluster: cluster $(if $(KFP_SRC),cluster-kfp) $(STAMPS)/chromium $(STAMPS)/ui-npm
	cluster/test/run.sh

clean:
	# build/cluster (the lab: Go caches, images, etcd) stays: `make cluster-down`, then delete it by hand
	find build -mindepth 1 -maxdepth 1 ! -name cluster -exec rm -rf {} + 2>/dev/null || true
	rm -rf lib tsconfig.tsbuildinfo cellpipe/labextension cellpipe/js
