# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Each creates the virtual environment it needs on first use.
#   TORCH: the PyTorch requirement installed before everything else. The default pin takes the
#          local CPU build on the project's machines; elsewhere, e.g. `make demo TORCH=torch` for
#          the default CUDA build of your platform.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: demo test clean browser

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/metastyle gatys builtin:chelsea builtin:wheat-field-with-cypresses -o outputs/gatys-demo.png --overwrite

test: $(VENV)/.installed browser
	$(BIN)/python -m pytest

# The web page's end-to-end tests drive Debian's Chromium (Playwright's own browser download
# cannot work offline). Installed here when missing and we are root; otherwise say how.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the web tests need Chromium: install it (Debian: sudo apt-get install chromium)"; fi; }

clean:
	rm -rf $(VENV) outputs
