# mdeops.defender - development and CI entry points.  `make help` lists the targets.
#
# Every target creates and fills the virtualenv it needs by itself.  A venv is (re)filled
# only when the content of the requirements files or the interpreter version changed
# (stamp file .venv*/.stamp-<python>-<hash>), so a second `make test` reuses it.
#
#   main   .venv         newest Python of SUPPORTED_PYTHONS; 3.12 -> requirements/test-main.txt
#                        (ansible 14.5.0 / ansible-core 2.21.5)
#   compat .venv-compat  Python 3.11 -> requirements/test-compat.txt (ansible 12.3.0 / core 2.19.14)
#
# Override the interpreter search with e.g. `make test PYTHON=/opt/python3.12/bin/python3.12`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
SUPPORTED_PYTHONS := 3.12 3.11
COMPAT_PYTHON_VERSION := 3.11

# Stages of `make test`, in order (demo last: a smoke run of the whole flow, a few seconds).
# bench and test-compat are separate targets.
TEST_STAGES := unit browser e2e sanity lint ps-parse build-check demo
# The e2e stage fails when the e2e tests run less of the collection's PowerShell than this (lines, %).
PS_COVERAGE_MIN ?= 90
# The end-to-end tests spend most of their time waiting on the simulated hosts' clock and on WinRM
# round trips, not on the CPU: pytest-xdist runs them in E2E_WORKERS processes, each test file on one
# worker (its module fixtures are shared). 4 keeps CI's 2 cores busy; E2E_WORKERS=0 runs them serially.
E2E_WORKERS ?= 4
E2E_XDIST := $(if $(filter 0,$(E2E_WORKERS)),,-n $(E2E_WORKERS) --dist loadfile)

# Find a *working* interpreter for each version in $(1), newest first.  Tries pythonX.Y on
# PATH (a pyenv shim whose version is not active fails the check and is skipped), then
# <pyenv root>/versions/X.Y.*/bin (pyenv root from `pyenv root`, $PYENV_ROOT, ~/.pyenv or
# the shim's location), /usr/local/bin, /usr/bin.  Prints the real executable.
define FIND_PYTHON_SH
for v in $(1); do
  roots="$$(pyenv root 2>/dev/null || true) $${PYENV_ROOT:-} $$HOME/.pyenv";
  shim=$$(command -v "python$$v" 2>/dev/null) && case "$$shim" in */shims/*) roots="$$roots $${shim%/shims/*}";; esac;
  for c in "python$$v" $$(for r in $$roots; do echo "$$r"/versions/$$v.*/bin/python$$v; done) /usr/local/bin/python$$v /usr/bin/python$$v; do
    p=$$(command -v "$$c" 2>/dev/null) || continue;
    "$$p" -c "import sys, venv, ensurepip; sys.exit('%d.%d' % sys.version_info[:2] != '$$v')" >/dev/null 2>&1 || continue;
    "$$p" -c 'import sys; print(sys.executable)'; exit 0;
  done;
done
endef

PROFILE ?= main
ifeq ($(PROFILE),compat)
  VENV := .venv-compat
  ifndef PYTHON_COMPAT
    PYTHON_COMPAT := $(shell $(call FIND_PYTHON_SH,$(COMPAT_PYTHON_VERSION)))
  endif
  PY := $(PYTHON_COMPAT)
  PY_WANTED := $(COMPAT_PYTHON_VERSION)
  REQS := requirements/test-compat.txt
else
  VENV := .venv
  ifndef PYTHON
    PYTHON := $(shell $(call FIND_PYTHON_SH,$(SUPPORTED_PYTHONS)))
  endif
  PY := $(PYTHON)
  PY_WANTED := one of $(SUPPORTED_PYTHONS)
endif
export PYTHON PYTHON_COMPAT

PY_VERSION := $(if $(PY),$(shell "$(PY)" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
ifeq ($(PROFILE),main)
  # ansible-core 2.20+ needs Python >= 3.12: on a 3.11-only machine the main venv uses the
  # compat pins (core 2.19) plus the lint/build tools.
  REQS := $(if $(filter 3.11,$(PY_VERSION)),requirements/test-compat.txt requirements/test-tools.txt,requirements/test-main.txt)
endif

REQ_FILES := $(sort requirements.txt $(wildcard requirements/*.txt))
REQ_HASH := $(shell cat $(REQ_FILES) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.stamp-$(PY_VERSION)-$(REQ_HASH)
VPY := $(ROOT)/$(VENV)/bin/python
CORE_PIN := $(shell sed -n 's/^ansible-core==\([^ ]*\).*/\1/p' $(REQS) 2>/dev/null | head -n1)

# Tools of the venv first on PATH (ansible-test, ansible-doc, antsibull need them there).
export PATH := $(ROOT)/$(VENV)/bin:$(PATH)
export ANSIBLE_PYTHON_INTERPRETER := $(VPY)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Filter pip's noise about this machine's local index mirrors that do not carry a package.
PIP_FILTER := { grep -v 'is ignored: it is neither a file nor a directory' || true; }

.PHONY: help venv venv-compat test unit browser browser-deps e2e sanity lint ps-parse build-check demo bench \
        test-compat changelog format clean distclean

help: ## List the targets
	@echo "mdeops.defender - make targets (each creates/refreshes its venv as needed):"
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'
	@echo "Stages of 'make test': $(TEST_STAGES)"

$(STAMP):
	@if [ -z "$(PY)" ]; then \
	  echo "ERROR: no working Python $(PY_WANTED) found (tried pythonX.Y on PATH, pyenv versions, /usr/local/bin, /usr/bin)."; \
	  echo "       Install one or pass PYTHON=/path/to/python3.X (PYTHON_COMPAT for make test-compat)."; exit 1; fi
	@want=$$("$(PY)" -c 'import sys; print(sys.version.split()[0])'); \
	have=$$([ -x $(VENV)/bin/python ] && $(VENV)/bin/python -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || true); \
	if [ "$$want" != "$$have" ]; then \
	  echo ">>> creating $(VENV) with $(PY) (Python $$want)"; rm -rf $(VENV); "$(PY)" -m venv $(VENV); fi
	@rm -f $(VENV)/.stamp-*
	@echo ">>> installing $(REQS) into $(VENV)"
	@$(VENV)/bin/python -m pip install -q $(addprefix -r ,$(REQS)) 2>&1 | $(PIP_FILTER)
	@touch $@

venv: $(STAMP) ## Create/refresh the main venv (.venv) and say which Python and ansible-core it uses
	@$(VENV)/bin/python -c 'import sys; from importlib.metadata import version as v; \
	print(">>> $(PROFILE) venv $(VENV): Python %s (%s), ansible-core %s, ansible %s  [pins: $(REQS); core pin $(CORE_PIN)]" \
	% (sys.version.split()[0], sys._base_executable, v("ansible-core"), v("ansible")))'

venv-compat: ## Create/refresh the compat venv (.venv-compat: Python 3.11 + ansible-core 2.19)
	@$(MAKE) PROFILE=compat venv

test: ## Run every stage (unit browser e2e sanity lint ps-parse build-check demo), failing fast (KEEP_GOING=1: run all)
	@$(MAKE) venv
	@if [ "$${MDE_SKIP_BROWSER_TESTS:-}" != 1 ] || [ "$${CI:-}" = true ]; then $(MAKE) browser-deps; fi
	@n=0; total=$(words $(TEST_STAGES)); t0=$$(date +%s); failed=""; \
	for s in $(TEST_STAGES); do \
	  n=$$((n+1)); s0=$$(date +%s); \
	  printf '\n======== [%d/%d] %s ========\n' $$n $$total $$s; \
	  if ! $(MAKE) $$s; then \
	    failed="$$failed $$s"; \
	    if [ -z "$(KEEP_GOING)" ]; then \
	      printf '\n######## FAILED: stage %s (%d/%d); later stages not run (KEEP_GOING=1 runs them) ########\n' $$s $$n $$total; exit 1; fi; \
	    printf '######## [%d/%d] %s FAILED (%ss) ########\n' $$n $$total $$s $$(( $$(date +%s) - s0 )); continue; fi; \
	  printf '======== [%d/%d] %s passed (%ss) ========\n' $$n $$total $$s $$(( $$(date +%s) - s0 )); \
	done; \
	if [ -n "$$failed" ]; then printf '\n######## make test: FAILED stages:%s (%ss) ########\n' "$$failed" $$(( $$(date +%s) - t0 )); exit 1; fi; \
	printf '\n======== make test: all %d stages passed in %ss ========\n' $$total $$(( $$(date +%s) - t0 ))

unit: venv ## pytest tests/unit (includes the PowerShell parse gate over the repository)
	$(VPY) -m pytest tests/unit $(PYTEST_ARGS)

# The real-browser test of the fleet report needs Debian's chromium and the chromium-driver of the
# same version (plus fonts): installed with apt-get when missing (root, or sudo without a password),
# nothing to do when present. MDE_SKIP_BROWSER_TESTS=1 skips both on a machine without them (not
# with CI=true: CI always runs the browser test).
BROWSER_PACKAGES := chromium chromium-driver fonts-dejavu-core fonts-liberation
browser-deps: ## Install the headless browser for `make browser` (Debian: chromium, chromium-driver) if missing
	@missing=""; for p in $(BROWSER_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ] && [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  echo "browser-deps: $$(/usr/bin/chromium --version 2>/dev/null | head -n1) and chromedriver present"; exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "browser-deps: apt-get not found: install$$missing yourself (or set MDE_SKIP_BROWSER_TESTS=1 to skip make browser)"; exit 1; fi; \
	sudo=""; if [ "$$(id -u)" != 0 ]; then sudo="sudo -n"; fi; \
	echo ">>> apt-get install$$missing"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends$$missing >/dev/null; \
	echo "browser-deps: $$(/usr/bin/chromium --version 2>/dev/null | head -n1) installed"

browser: venv ## Render the fleet report in headless chromium and check it (fails when the browser is missing)
	@if [ "$${MDE_SKIP_BROWSER_TESTS:-}" != 1 ] || [ "$${CI:-}" = true ]; then $(MAKE) browser-deps; fi
	$(VPY) -m pytest tests/browser $(PYTEST_ARGS)

e2e: venv ## pytest -m e2e tests/e2e (real ansible-playbook over WinRM, simulated fleet), then the PowerShell coverage table (fails below PS_COVERAGE_MIN %)
	@if [ -z "$$(find tests/e2e \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit 2>/dev/null)" ]; then \
	  echo "e2e: tests/e2e has no test files yet - nothing to run"; exit 0; fi; \
	rc=0; $(VPY) -m pytest -m e2e tests/e2e $(E2E_XDIST) --ps-coverage-min $(PS_COVERAGE_MIN) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "e2e: tests/e2e has test files but no test marked 'e2e' was collected (pytestmark = pytest.mark.e2e?)"; fi; \
	exit $$rc

sanity: venv ## ansible-test sanity offline (validate-modules on the .py stubs only; skips printed)
	$(VPY) tests/tools/sanity.py --python $(PY_VERSION)

lint: venv ## ruff check + ruff format --check (plugins/ tests/), mypy (plugins/ tests/tools/), ansible-lint --profile production
	@$(VPY) tests/tools/collection_farm.py >/dev/null
	@dirs=""; for d in plugins tests; do if [ -d $$d ]; then dirs="$$dirs $$d"; fi; done; failed=""; \
	echo "+ ruff check $$dirs"; ruff check $$dirs || failed="$$failed ruff-check"; \
	echo "+ ruff format --check $$dirs"; ruff format --check $$dirs || failed="$$failed ruff-format(run: make format)"; \
	echo "+ mypy -p ansible_collections.mdeops.defender.plugins (from collections/; config: pyproject.toml)"; \
	(cd collections && mypy --config-file $(ROOT)/pyproject.toml -p ansible_collections.mdeops.defender.plugins) || failed="$$failed mypy(plugins)"; \
	echo "+ mypy tests/tools"; MYPYPATH=tests/tools mypy --config-file pyproject.toml tests/tools || failed="$$failed mypy(tests/tools)"; \
	echo "+ ansible-lint --profile production"; \
	awx=$$($(VPY) tests/tools/ee_context.py --awx-only) || failed="$$failed awx.awx(for playbooks/awx_configure.yml)"; \
	ANSIBLE_COLLECTIONS_PATH=$(ROOT)/collections:$$awx ansible-lint --nocolor --profile production --offline || failed="$$failed ansible-lint"; \
	if [ -n "$$failed" ]; then echo "lint FAILED:$$failed"; exit 1; fi; echo "lint: all clean"

format: venv ## Rewrite Python files with ruff format and ruff check --fix (safe fixes only)
	@dirs=""; for d in plugins tests; do if [ -d $$d ]; then dirs="$$dirs $$d"; fi; done; \
	ruff format $$dirs; ruff check --fix $$dirs || true

ps-parse: venv ## PowerShell parse gate (tree-sitter-pwsh) over every .ps1/.psm1
	$(VPY) tests/tools/ps_parse_gate.py

build-check: venv ## galaxy build + tarball content check + offline install + ansible-doc on every plugin
	$(VPY) tests/tools/build_check.py

demo: venv ## Start the simulated fleet, run rollout.yml then verify.yml, print a per-host table (smoke test)
	$(VPY) tests/tools/demo.py

bench: venv ## Benchmark against the naive baseline playbook (tests/bench/run.py; BENCH_ARGS=...)
	@if [ ! -f tests/bench/run.py ]; then echo "bench: tests/bench/run.py does not exist yet - nothing to benchmark"; exit 1; fi
	$(VPY) tests/bench/run.py $(BENCH_ARGS)

test-compat: ## unit + e2e + sanity on Python 3.11 + ansible-core 2.19 (.venv-compat)
	@$(MAKE) PROFILE=compat venv
	@for s in unit e2e sanity; do \
	  printf '\n======== [compat] %s ========\n' $$s; \
	  if ! $(MAKE) PROFILE=compat $$s; then printf '\n######## FAILED: compat stage %s ########\n' $$s; exit 1; fi; \
	done; printf '\n======== make test-compat: passed ========\n'

changelog: venv ## Lint changelog fragments and regenerate CHANGELOG.md (antsibull-changelog)
	antsibull-changelog lint
	@if grep -q '^releases: {}' changelogs/changelog.yaml; then \
	  echo "changelog: no release in changelogs/changelog.yaml yet - CHANGELOG.md kept as is"; \
	  echo "           (release with: antsibull-changelog release --version X.Y.Z)"; \
	else antsibull-changelog generate; fi

clean: ## Remove generated files (build output, caches, symlink farm, reports); keeps the venvs
	rm -rf collections tests/output reports dist build context .ansible .cache .pytest_cache .ruff_cache
	rm -f mdeops-defender-*.tar.gz
	find . -path ./.venv -prune -o -path ./.venv-compat -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean ## clean + remove both venvs
	rm -rf .venv .venv-compat
