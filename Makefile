# napari-genmed: the two commands of the README.
#   make demo   create .venv, install the plugin with napari, PyQt6 and CPU torch, open the demo
#   make test   create .venv, install the test extras (and a virtual display), lint, run the suite
#
# TORCH_SPEC picks the torch build installed before the plugin (CPU by default, so
# the venv stays small); a GPU user sets it, e.g. `make demo TORCH_SPEC=torch`, on a
# machine whose pip index serves CUDA builds (see README). QT_BINDING is the Qt binding
# installed beside napari (the package itself pins none); PyQt6 runs under Xvfb.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
QT_BINDING ?= PyQt6
PYTEST_ARGS ?=
XVFB_PACKAGES := xvfb xauth libgl1-mesa-dri libegl1 libdbus-1-3 libxcb-icccm4 libxcb-keysyms1 \
	libxcb-xinerama0 libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-cursor0 \
	libxkbcommon-x11-0 libfontconfig1

.PHONY: demo test lint venv display sample-data bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[$*]" "$(QT_BINDING)"
	touch $@

venv: $(VENV)/.installed-testing

# Xvfb and the libraries Qt needs, only when there is no display and they are missing
display:
	@if [ -z "$$DISPLAY" ] && ! { command -v xvfb-run && dpkg -s $(XVFB_PACKAGES); } >/dev/null 2>&1; then \
		echo "installing a virtual display (Xvfb, xcb, Mesa)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(XVFB_PACKAGES) >/dev/null; \
	fi

demo: $(VENV)/.installed-napari
	@if [ -z "$$DISPLAY" ]; then $(MAKE) display && xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m napari_genmed.demo $(DEMO_ARGS); \
	else $(BIN)/python -m napari_genmed.demo $(DEMO_ARGS); fi

lint: $(VENV)/.installed-testing
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint display
	@if [ -z "$$DISPLAY" ]; then \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m pytest $(PYTEST_ARGS); \
	else $(BIN)/python -m pytest $(PYTEST_ARGS); fi

sample-data: $(VENV)/.installed-napari
	$(BIN)/genmed sample-data --out sample_data

bench: $(VENV)/.installed-napari
	$(BIN)/genmed bench

clean:
	rm -rf $(VENV) artifacts .pytest_cache
