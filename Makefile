# Everything a newcomer needs: `make demo` and `make test`.
# The project's environment lives in .venv (with the `ergo` command in .venv/bin);
# LocalStack, used only by the tests, lives in its own .localstack-venv.

PYTHON ?= python3.11
VENV := .venv
LS_VENV := .localstack-venv
REF_VENV := .reference-venv
PIP_FLAGS := --quiet --disable-pip-version-check

CHROMIUM := /usr/bin/chromium

.PHONY: install kernel demo lint check test reference clean

install: $(VENV)/.installed kernel

$(VENV)/.installed: setup.cfg setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(VENV)/bin/pip install $(PIP_FLAGS) -c constraints.txt -e '.[test]'
	touch $@

# The detector's sparse 1x1 convolution kernel (pipeline/pose/sparse_pointwise.cpp), compiled ahead of time with g++
# and ninja, never at run time. Checked on every run (a second when it is built: the library's name holds the source's
# digest and Torch's version); a failed build fails the install: the detector's numbers are pinned only with it.
# Torch calls `ninja` by name: the venv's (setup.cfg installs its wheel) comes first, for a machine without one.
kernel: $(VENV)/.installed
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/python -m pipeline.pose.sparse_kernel

$(LS_VENV)/.installed: requirements-localstack.txt
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(LS_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-localstack.txt
	touch $@

# MediaPipe itself, the reference our BlazePose is measured against (tests and benchmarks only, never at run
# time; it needs numpy<2, so it never goes into .venv).
reference: $(REF_VENV)/.installed
$(REF_VENV)/.installed:
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(REF_VENV)/bin/pip install $(PIP_FLAGS) mediapipe==0.10.21
	touch $@

# Fetches BlazePose from the package registries (cached), makes a demo video, analyses it offline.
demo: $(VENV)/.installed kernel
	$(VENV)/bin/ergo demo

# The browser tests drive Debian's Chromium (a test tool's own browser download does not work offline).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The report tests render the PDF's pages with Debian's Poppler (pdftoppm, pdftotext) and look at them.
PDFTOPPM := /usr/bin/pdftoppm
$(PDFTOPPM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils

# axe-core, injected into the page by the browser tests (never part of the page), from the npm registry.
AXE := tests/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	npm ci --prefix tests/axe --silent --no-audit --no-fund
	touch $@

# ESLint for the page's modules (frontend/), pinned in tests/lint/package-lock.json, from the npm registry.
ESLINT := tests/lint/node_modules/eslint/bin/eslint.js
$(ESLINT): tests/lint/package.json tests/lint/package-lock.json
	npm ci --prefix tests/lint --silent --no-audit --no-fund
	touch $@

# Lint (Python and the page) and the import direction between the layers (contracts in setup.cfg); a violation
# fails `make test`.
lint: $(VENV)/.installed $(ESLINT)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	node $(ESLINT) --config tests/lint/eslint.config.js frontend/

# The fast lane for the inner loop: lint, the import contracts and the tests that need no LocalStack, no browser,
# no MediaPipe and no long runs (a few minutes; `make test` stays the whole suite, and what CI runs).
# Both run the tests on two processes (pytest-xdist); the tests that share LocalStack go to one of them, so it starts
# once, and so do a module's tests that share a module-scoped fixture (an analysis, a browser), computed once
# (tests/conftest.py; `XDIST=` runs them in one process).
XDIST ?= -n 2 --dist loadgroup
CHECK_MARKERS := not slow and not localstack and not browser and not reference
check: lint kernel
	$(VENV)/bin/python -m pytest -q $(XDIST) -m "$(CHECK_MARKERS)" $(PYTEST_ARGS)

# The test session starts LocalStack itself (tests/localstack.py) and stops it at the end; the pose-parity tests
# run MediaPipe in its own environment.
# The tests that measure latency run afterwards, by themselves (exit status 5: PYTEST_ARGS selected none of them).
test: lint kernel $(LS_VENV)/.installed $(REF_VENV)/.installed $(CHROMIUM) $(PDFTOPPM) $(AXE)
	ERGO_LOCALSTACK_PYTHON=$(abspath $(LS_VENV))/bin/python $(VENV)/bin/python -m pytest $(XDIST) -m "not alone" $(PYTEST_ARGS)
	ERGO_LOCALSTACK_PYTHON=$(abspath $(LS_VENV))/bin/python $(VENV)/bin/python -m pytest -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]

clean:
	rm -rf $(VENV) $(LS_VENV) $(REF_VENV) pipeline/pose/_native .tox .pytest_cache .hypothesis .ruff_cache .import_linter_cache *.egg-info ergo-results
