#!/bin/sh
# One call on the GPU machine (benchmarks/gpu/README.md): meta-train the small model with the
# shipped stage 12's objective (the predicted start's own loss, `--inner-steps 0`, adaptation's loss
# with the palette weighted, on 256 px crops, the CPU default's; noise on the predictor's inputs, a
# moving average) at the reference's 4 crops a task, from $INIT for
# $LIMIT seconds, then hand back the last model file, the metrics and the log through $OUT.
# Later flags in $EXTRA override these (argparse keeps the last): through the deployed adaptation
# instead, EXTRA="--inner-loop deployed --first-order --inner-steps 10 --inner-params all --init-weight 0.5".
set -u
: "${OUT:?run it through the device tool, which sets OUT}"
INIT=${INIT:-src/metastyle/weights/metastyle-small.safetensors}
LIMIT=${LIMIT:-480}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
RUN=${RUN:-/tmp/metastyle-run}
export PYTHONPATH=src:.carry/site
rm -rf "$RUN"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
timeout --signal=INT "$LIMIT" "$PYTHON" -m metastyle meta-train --device "$DEVICE" --init "$INIT" -o "$RUN" \
  --content-dir builtin --content-dir .carry/photos --iters 100000 --checkpoint-every 100 --half \
  --size 256 --batch 4 --precision bf16 --style-size 256 --meta-batch 8 --inner-steps 0 \
  --predictor --outer-lr 5e-5 --content-weight 80 \
  --ema 0.99 --predictor-noise 0.5 --style-layer-weights 1000,1,1,1,1 ${EXTRA:-} > "$OUT/train.log" 2>&1
echo "meta-train ended with status $? (124 or 130: stopped at the time limit, as planned)"
tr '\r' '\n' < "$OUT/train.log" | tail -n 3
cp "$RUN/model.safetensors" "$RUN/metrics.jsonl" "$OUT/"
"$PYTHON" - "$RUN/metrics.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
seconds = [r["seconds"] for r in rows[5:]] or [r["seconds"] for r in rows]
print(f"{rows[-1]['iteration']} iterations, median {statistics.median(seconds):.3f} s each after the first 5")
PY
