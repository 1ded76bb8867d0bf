# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Each creates the virtual environment it needs on first use.
#   TORCH: the PyTorch requirement installed before everything else. The default pin takes the
#          local CPU build on the project's machines; elsewhere, e.g. `make demo TORCH=torch` for
#          the default CUDA build of your platform.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: demo test clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/metastyle gatys builtin:chelsea builtin:wheat-field-with-cypresses -o outputs/gatys-demo.png --overwrite

test: $(VENV)/.installed
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) outputs
