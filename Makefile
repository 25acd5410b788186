# videokr: `make demo` runs the whole chain on the built-in demo corpus; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.videokr-setup
LOCK := envs/locks/cpu.txt
SETUP_INPUTS := $(LOCK) pyproject.toml
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export DISABLE_VERSION_CHECK := 1
export FORCE_QWENVL_VIDEO_READER := decord
export TOKENIZERS_PARALLELISM := false

.PHONY: setup lock test check lint demo clean

setup: $(STAMP)

# Installs from the lock only (the whole closure, hashed, so --no-deps), then videokr itself editable.
# Re-installs only when the lock or the project metadata change; seconds otherwise.
$(STAMP): $(SETUP_INPUTS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --no-deps --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m videokr env check --profile cpu --venv $(VENV)
	touch $(STAMP)

# Re-resolves every envs/*.txt (+ pyproject's requirements) into envs/locks/ with uv; commit the result.
lock: setup
	$(PY) -m videokr env lock $(LOCK_ARGS)

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

check: lint
	$(PY) -m pytest -q

demo: setup
	$(PY) -m videokr demo --output runs/demo

clean:
	rm -rf runs/ .pytest_cache .mypy_cache .ruff_cache
