# Trova — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := src/trova/web/static/vendor/.built

.PHONY: run test check lint format typecheck pytest eval-gate bench install assets clean

run: install assets  ## Serve Trova on http://127.0.0.1:8000 with demo data (SQLite, offline)
	$(BIN)/trova db upgrade
	$(BIN)/trova demo --if-empty
	$(BIN)/trova serve --host $${TROVA_HOST:-127.0.0.1} --port $${TROVA_PORT:-8000} --no-migrate

test: install assets check pytest eval-gate  ## Lint, type-check, every test, then the eval gate

install: $(STAMP)
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Error: $(PYTHON) not found (Trova needs Python 3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

assets: $(ASSETS)
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	npm run --silent build
	touch $(ASSETS)

check: lint typecheck
lint:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
typecheck:
	$(BIN)/mypy

format:
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

pytest:
	$(BIN)/pytest -q $(PYTEST_ARGS)

# The local model on the starter dataset must not fall below the committed baseline.
eval-gate:
	$(BIN)/trova eval run --dataset evals/datasets/starter --provider local \
		--gate evals/baselines/starter-local.json --max-drop 0.02

bench: install assets  ## Runnable benchmarks; prints figures
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules src/trova/web/static/vendor .pytest_cache .mypy_cache .ruff_cache
