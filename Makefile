# Every target uses the virtual environment at .venv (created on first use).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: test lint demo bench clean

$(VENV)/.test-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0  # first: the CPU wheel where the index has it, never an unpinned CUDA build
	$(PIP) -e '.[test,rules,crf]'
	touch $@

lint: $(VENV)/.test-installed
	$(PY) -m ruff check nerbench tests benchmarks
	$(PY) -m ruff format --check nerbench tests benchmarks
	$(PY) -m mypy

test: lint
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(PY) -m pytest -n 2 tests

bench: $(VENV)/.test-installed
	$(PY) benchmarks/scoring.py
	$(PY) benchmarks/scale.py --sizes 10000,100000  # 1M and 10M: --sizes 1000000,10000000 (minutes, GBs of disk)

$(VENV)/.demo-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e '.[rules,crf,spacy,transformers]'
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/nerbench run suites/quickstart.yaml --out runs/quickstart
	@echo "Open runs/quickstart/report.html in a browser."

clean:
	rm -rf $(VENV) .nerbench .pytest_cache .mypy_cache .hypothesis
