# The README's two commands, `make run` and `make test`, each make .venv/ themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt migrate revision bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes; the stamp records which extras are in.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/ethicsforum serve --demo --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/pytest -n auto


lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

migrate: $(VENV)/.installed-run
	$(BIN)/ethicsforum db upgrade

# make revision m="add flag reason"
revision: $(VENV)/.installed-dev
	$(BIN)/alembic revision --autogenerate -m "$(m)"

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/case_library.py
	$(BIN)/python bench/discussion.py
	$(BIN)/python bench/summary.py
	$(BIN)/python bench/deid.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
