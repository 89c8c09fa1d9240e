# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench default-data clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## Vietnam from the embedded default data (or --data / $$INFRA_OVERLAP_DATA) -> out/vietnam/
run: $(STAMP)
	$(PY) cli.py run --region vietnam --overwrite $(ARGS)

## Every test: units, the real chain on the embedded default and on the mirror, browser and QGIS checks
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q -rs $(PYTEST_ARGS)

## Units only (no real-data integration, no browser, no QGIS)
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not integration and not browser and not qgis"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m mypy

## Rebuild the embedded default from a mirror
default-data: $(STAMP)
	$(PY) -m data.build_default --mirror $${INFRA_OVERLAP_DATA:-../shared/data/vietnam} --out data/vietnam

## Performance benchmark (issue 10): kernel vs networkx / osmnx / scipy, scaling, national chain
## (JSON lines and report.md in $$BENCH_DIR, default /tmp/infra_overlap_bench); then the
## full-resolution section (issue 19, bench/full_resolution.py: synthetic national PBF, 100 m
## population; FULL_STAGES=pbf_write,pbf_read runs some stages only)
bench: $(STAMP)
	test -x $(VENV)/bin/py-spy || $(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/run_bench.py $(ARGS)
	$(PY) bench/full_resolution.py $(if $(FULL_STAGES),--stages $(FULL_STAGES))

clean:
	rm -rf out .pytest_cache
