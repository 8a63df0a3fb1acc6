# ganrepro — two commands do all the set-up on a fresh machine:
#   make reproduce   set-up, then the default study (snakemake --cores 8)
#   make test        set-up, then the test suite (unit tests + smoke runs via Snakemake and DVC)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export DVC_NO_ANALYTICS := 1
export PYTHONUNBUFFERED := 1
FASHION_MNIST := /usr/share/datasets/fashion-mnist
# Snakemake's own per-job figures, asked for by name (pipeline.final_targets says why)
PROVENANCE := results/provenance

.PHONY: setup data-package slurm-packages browser reproduce test test-fast lint docs dvc-yaml clean

setup: $(STAMP) data-package

# Debian's dataset-fashion-mnist: the offline default data set (a file:// mirror in params.yaml).
data-package:
	@if [ ! -f $(FASHION_MNIST)/train-images-idx3-ubyte.gz ]; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; \
	  else echo "note: apt-get not found; Fashion-MNIST will be fetched from its official URLs"; fi; \
	fi

# Debian's slurm-wlm and munge: tests/test_slurm.py starts a one-node SLURM cluster with them.
slurm-packages:
	@missing=; for b in sbatch srun squeue slurmctld slurmd munged; do \
	  PATH=$$PATH:/usr/sbin:/sbin command -v $$b >/dev/null || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq slurm-wlm munge; \
	  else echo "note: apt-get not found; tests/test_slurm.py will fail without:$$missing"; fi; \
	fi

# Debian's chromium: the report's browser test opens results/report/index.html headless, offline.
browser:
	@if ! command -v chromium >/dev/null; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	  else echo "note: apt-get not found; the report's browser test will be skipped"; fi; \
	fi

$(STAMP): pyproject.toml requirements/base.txt requirements/constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -r requirements/base.txt -c requirements/constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# --scheduler greedy: before workflow/rules/common.smk capped Snakemake's core count at the CPUs,
# the default ILP scheduler started its solver each time a job ended even when every cpu_slot was
# taken (docs/performance.md). The cap removes that; greedy stays because our jobs are alike (one
# thread, no temp files), so the greedy choice is the ILP's without the solver.
reproduce: setup
	snakemake --cores 8 --scheduler greedy all $(PROVENANCE)
	@echo "report: results/report/index.html"

# pytest's exit code 5 (no tests collected) is a failure too.
PYTEST = rc=0; $(PY) -m pytest -q $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# Two pytest-xdist workers: one builds the smoke study and runs most files that read it (one unit of
# work, tests/conftest.py's scheduler), the other runs the rest of the suite meanwhile, file by file,
# then the longest file on the study (queued last). Two, not one per CPU: the study itself runs
# Snakemake on 2 cores and DVC beside it.
XDIST := -n 2 --no-loadscope-reorder

test: setup slurm-packages browser
	$(call PYTEST,$(XDIST) --durations=15)

# The developer's loop: everything but the tests marked slow (pipeline and training runs).
test-fast: setup
	$(call PYTEST,$(XDIST) -m "not slow")

# ruff (pyproject.toml) on the package and tests; snakemake --lint on the workflow. Snakemake's advice to
# give each rule a conda environment or container is left out: the environment is the project's .venv.
lint: setup
	$(VENV)/bin/ruff check .
	@out=$$(snakemake --lint 2>&1); \
	left=$$(echo "$$out" | grep -E '^\s+\* ' | grep -viE 'conda environment or container'); \
	if [ -n "$$left" ]; then echo "$$out"; echo "snakemake --lint: $$left"; exit 1; fi; \
	echo "snakemake --lint: clean (apart from the conda/container advice)"

# The documentation site: the reference pages generated from the code (docs/reference), then the
# site built with warnings as errors into site/ (git-ignored). tests/test_docs.py checks both.
docs: setup
	$(PY) -m ganrepro.docgen docs/reference
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

dvc-yaml: $(STAMP)
	ganrepro dvc-yaml --params params.yaml --out dvc.yaml

clean:
	rm -rf results .snakemake site
