# Two commands do all the set-up on a fresh machine:
#   make book   -> builds the website on the offline defaults into _build/html/index.html
#   make test   -> runs every test: labkit unit tests, every notebook (nbval), the book build,
#                  the browser tests (installs Debian's chromium first when it is missing)
# Both create or refresh the virtual environment .venv/ first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := book exercises solutions
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export MPLBACKEND ?= Agg

.PHONY: venv browser book test unit notebooks lab execute exercises lint format clean

venv: $(STAMP)

# torch first, pinned, with the PyTorch CPU index as an extra index: from PyPI alone, Linux gets
# the CUDA build and its nvidia-* packages. Where that index cannot be reached, pip retries,
# warns and takes the default index (a few seconds).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 --extra-index-url $(TORCH_INDEX)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

book: venv
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "website: _build/html/index.html"

# The browser tests (tests/browser, marker "browser") drive Debian's Chromium through the
# playwright package; Playwright's own browser download is never used. Installs it when missing.
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test: venv browser
	$(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval-lax --sanitize-with tests/sanitize.cfg \
		-p no:cacheprovider $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests -m "not slow" $(PYTEST_ARGS)

notebooks: venv
	$(BIN)/python -m pytest $(NOTEBOOKS) --nbval-lax --sanitize-with tests/sanitize.cfg $(PYTEST_ARGS)

lab: venv
	$(BIN)/jupyter lab

# Re-execute every notebook in place so stored outputs are fresh (then commit them).
execute: venv
	$(BIN)/python tools/execute_notebooks.py $(NOTEBOOKS)
	$(BIN)/python tools/course_map.py

# Regenerate exercises/ from solutions/ (strip the solution regions).
exercises: venv
	$(BIN)/python tools/make_exercises.py

lint: venv
	$(BIN)/ruff check labkit tests tools bench conftest.py
	$(BIN)/ruff format --check labkit tests tools bench conftest.py

format: venv
	$(BIN)/ruff format labkit tests tools bench
	$(BIN)/ruff check --fix labkit tests tools bench

clean:
	rm -rf _build
