# Two commands a new user needs: `make run` and `make test`. Each makes its own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DB ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-unit test-integration test-pwsh lint bench assets clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# axe-core for the accessibility tests, at the version frontend/package-lock.json pins.
AXE := frontend/node_modules/axe-core/axe.min.js
$(AXE): frontend/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs npm for the accessibility tests' axe-core (apt-get install npm)" >&2; exit 1; }
	npm ci --prefix frontend --no-audit --no-fund
	touch $(AXE)

run: $(STAMP)
	$(BIN)/jobledger serve

# The whole suite. PostgreSQL tests use JOBLEDGER_TEST_DATABASE_URL (default: the local server).
test: $(STAMP) $(AXE)
	JOBLEDGER_TEST_DATABASE_URL=$${JOBLEDGER_TEST_DATABASE_URL:-$(TEST_DB)} \
		$(BIN)/pytest -q $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)
	JOBLEDGER_TEST_DATABASE_URL=$${JOBLEDGER_TEST_DATABASE_URL:-$(TEST_DB)} \
		$(BIN)/pytest -q tests/integration tests/e2e

# The PowerShell job type against a real pwsh 7.4+ (elsewhere these tests skip): on a machine
# or in a container with PowerShell installed, e.g. mcr.microsoft.com/powershell plus Python.
test-pwsh: $(STAMP)
	@command -v pwsh >/dev/null || { echo "make test-pwsh needs pwsh 7.4 or later on PATH" \
		"(https://learn.microsoft.com/powershell/scripting/install/installing-powershell-on-linux)" >&2; exit 1; }
	$(BIN)/pytest -q -rs tests/integration/test_powershell_real.py tests/unit/test_powershell_wrapper.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain application projections scheduler engine jobtypes notifier adapters interfaces

bench: $(STAMP)
	JOBLEDGER_BENCH_DATABASE_URL=$${JOBLEDGER_BENCH_DATABASE_URL:-$(TEST_DB)} \
		$(BIN)/python -m bench

# The job form's code editor (interfaces/web/static/vendor/editor.js, committed) rebuilt from
# frontend/ with the versions frontend/package-lock.json pins. Needs node and npm; nothing
# else does (the Python package ships the built file), except the accessibility tests' axe-core.
assets:
	npm ci --prefix frontend --no-audit --no-fund
	npm run --prefix frontend build

clean:
	rm -rf $(VENV) build *.egg-info
