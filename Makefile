# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Each creates the virtual environment it needs on first use.
#   TORCH: the PyTorch requirement installed before everything else. The default pin takes the
#          local CPU build on the project's machines; elsewhere, e.g. `make demo TORCH=torch` for
#          the default CUDA build of your platform.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: demo test model small clean browser

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	mkdir -p outputs && cd outputs && $(abspath $(BIN))/metastyle demo

# The shipped model, reproduced: meta-training on the built-in paintings and photos less the held-out
# ones, plus the project's training photos (../shared/data/photos, which users do not have), in two
# stages (MODEL_CARD.md): Algorithm 1 from a warm-up, then the style predictor with the body (the
# amortised start). Resumable: run it again after an interruption. To train further, run stage 2
# again with a larger MODEL_ITERS, or start a new stage from the shipped file with --init.
# Precision auto: bf16 where the CPU has AVX512-BF16 (as the shipped runs had); on an AVX2-only CPU
# bf16 is emulated and an iteration takes 50x longer than in fp32 (benchmarks/RESULTS.md).
SHARED_PHOTOS ?= ../shared/data/photos
STAGE1_ITERS ?= 1300
MODEL_ITERS ?= 2100
AMORTISED = --style-size 256 --meta-batch 4 --inner-steps 0 --predictor --outer-lr 1e-4 --content-weight 80
TRAIN_DATA = --content-dir builtin --content-dir $(SHARED_PHOTOS) --size 128 --batch 2 --precision auto --checkpoint-every 50 --half --resume
model: $(VENV)/.installed
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/stage1 --iters $(STAGE1_ITERS) --warmup 300 --style-size 512 \
	  --meta-batch 2 --outer-lr 2e-4 --content-weight 10 --normalized-inner --inner-lr 1.0 --init-weight 1
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/stage2 --iters $(MODEL_ITERS) --init runs/stage1/model.safetensors $(AMORTISED)
	mkdir -p src/metastyle/weights && cp runs/stage2/model.safetensors src/metastyle/weights/metastyle.safetensors

# The small model (half the width, for real-time stylisation on a CPU): taught by the shipped one
# on the same data (distill.py), then trained with the shipped model's stage-2 objective, in nine
# runs as shipped (each from the previous one's file, its Adam moments afresh; the last six with noise
# on the predictor's inputs and a moving average of the weights, the last five with adaptation's palette
# weight on relu1_1, the last three on 256 px crops, the size the CPU adapts at, the last at a quarter of
# the rate), and its predictor's gain
# chosen on training paintings (benchmarks/view_gain.py; stage 7 as shipped had its own, which
# training leaves behind). Resumable.
DISTILL_ITERS ?= 4000
SMALL_ITERS ?= 1500
SMALL_MORE_ITERS ?= 500
SMALL_STAGE6_ITERS ?= 775
SMALL_STAGE7_ITERS ?= 1050
SMALL_STAGE8_ITERS ?= 5450
SMALL_STAGE9_ITERS ?= 16910
SMALL_STAGE10_ITERS ?= 660
SMALL_STAGE11_ITERS ?= 1850
SMALL_STAGE12_ITERS ?= 1080
PALETTE = --predictor-noise 0.5 --ema 0.99 --style-layer-weights 1000,1,1,1,1
small: $(VENV)/.installed
	$(BIN)/metastyle distill --content-dir builtin --content-dir $(SHARED_PHOTOS) -o runs/small --iters $(DISTILL_ITERS) --half --resume
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/small-amortised --iters $(SMALL_ITERS) --init runs/small/model.safetensors $(AMORTISED)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/small-more --iters $(SMALL_MORE_ITERS) --init runs/small-amortised/model.safetensors $(AMORTISED)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/small-stage6 --iters $(SMALL_STAGE6_ITERS) --init runs/small-more/model.safetensors $(AMORTISED)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/small-stage7 --iters $(SMALL_STAGE7_ITERS) --init runs/small-stage6/model.safetensors $(AMORTISED) \
	  --predictor-noise 0.5 --ema 0.99
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/small-stage8 --iters $(SMALL_STAGE8_ITERS) --init runs/small-stage7/model.safetensors $(AMORTISED) $(PALETTE)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) -o runs/small-stage9 --iters $(SMALL_STAGE9_ITERS) --init runs/small-stage8/model.safetensors $(AMORTISED) $(PALETTE)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) --size 256 --batch 1 -o runs/small-stage10 --iters $(SMALL_STAGE10_ITERS) --init runs/small-stage9/model.safetensors $(AMORTISED) $(PALETTE)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) --size 256 --batch 1 -o runs/small-stage11 --iters $(SMALL_STAGE11_ITERS) --init runs/small-stage10/model.safetensors $(AMORTISED) $(PALETTE)
	$(BIN)/metastyle meta-train $(TRAIN_DATA) --size 256 --batch 1 -o runs/small-stage12 --iters $(SMALL_STAGE12_ITERS) --init runs/small-stage11/model.safetensors $(AMORTISED) $(PALETTE) \
	  --outer-lr 2.5e-5
	$(BIN)/python benchmarks/view_gain.py --init runs/small-stage12/model.safetensors --gains 0.9,1,1.1,1.2 --content-balance 0 \
	  --write src/metastyle/weights/metastyle-small.safetensors

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
