# Two commands do all set-up on a fresh machine (Python 3.11 and make present):
#   make demo   - the main job: local emulator (moto server + Prefect local server), synthetic city, flows
#   make test   - the test suite
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Local, credential-free environment: nothing here may reach real AWS or Prefect Cloud.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: venv test demo bench clean package browser openapi

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q "pip<26.3" "setuptools<82" wheel
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps face_recognition==1.3.0
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

test: venv browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: venv
	$(BIN)/python -m local_emulator.demo $(DEMO_ARGS)

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .prefect .gridgate .pytest_cache

# Deployable artifacts, offline (no AWS credentials): .serverless/ and build/chalice/, cfn-linted.
NODE_STAMP := node_modules/.installed-stamp

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

package: venv $(NODE_STAMP)
	$(BIN)/python -m infra.package $(PACKAGE_ARGS)

# Debian's Chromium for the page tests (tests/pages); installed only when missing and possible
# (root with apt-get). Without it those tests skip and say why.
CHROMIUM := /usr/bin/chromium

browser:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium + chromium-driver for the page tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "chromium install failed: page tests will be skipped"; \
	fi

# The API's OpenAPI document, regenerated from the Chalice routes (tests/app/test_openapi.py checks it).
openapi: venv
	cd functions && ../$(BIN)/python -m chalicelib.openapi ../docs/openapi.json
