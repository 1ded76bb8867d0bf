#!/bin/sh
# CPU meta-training through the CPU default's own steps, scored at the `score` metric's weights
# (issue 10; benchmarks/training/README.md). Run from anywhere:
#   sh benchmarks/training/score_deployed.sh start   # in the background; resumes runs/score-deployed, else
#                                                    # starts from the committed file, else from the shipped start
#   sh benchmarks/training/score_deployed.sh stop    # waits for the next checkpoint, then stops it
#   sh benchmarks/training/score_deployed.sh save    # the run's model file into the repository, to commit
# PROCS (2: torchrun processes of one thread, a task of the meta-batch each), ITERS (3000) and RUN
# (runs/score-deployed) can be set; EXTRA="--flag value" overrides a flag (argparse keeps the last).
cd "$(dirname "$0")/../.." || exit 1
RUN=${RUN:-runs/score-deployed}
SAVED=benchmarks/training/score-deployed.safetensors
INIT=${INIT:-$( [ -f $SAVED ] && echo $SAVED || echo src/metastyle/weights/metastyle-small.safetensors )}
case ${1:-} in
start)
  mkdir -p runs/logs
  OMP_NUM_THREADS=1 nohup .venv/bin/torchrun --standalone --nproc_per_node "${PROCS:-2}" -m metastyle meta-train --content-dir builtin --content-dir ../shared/data/photos \
    --init "$INIT" -o "$RUN" --resume --iters "${ITERS:-3000}" --checkpoint-every 25 --half --precision auto \
    --predictor --predictor-noise 0.5 --ema 0.99 --meta-batch 2 --outer-lr 5e-5 --init-weight 0.5 --predictor-lr 3e-5 \
    --inner-loop deployed --first-order --inner-steps 12 --inner-params all --inner-content photo --batch 1 --size 256 \
    --style-size 256 --content-weight 60 --content-balance 0.75 --style-layer-weights 1000,1,1,1,1 --outer-loss score ${EXTRA:-} \
    >> runs/logs/score-deployed.log 2>&1 &
  echo "started (pid $!, log runs/logs/score-deployed.log)" ;;
stop)
  before=$(stat -c %Y "$RUN/checkpoint.pt" 2>/dev/null || echo 0)
  while [ "$(stat -c %Y "$RUN/checkpoint.pt" 2>/dev/null || echo 0)" = "$before" ]; do sleep 2; done
  sleep 3  # the model file follows the checkpoint
  # SIGTERM, not SIGINT: a shell starts background jobs with SIGINT ignored, and Python then never sees it.
  pkill -TERM -f "meta-train .*-o $RUN " && sleep 5 && ! pgrep -f "meta-train .*-o $RUN " > /dev/null \
    && echo "stopped at $(tail -n 1 "$RUN/metrics.jsonl")" ;;
save)
  cp "$RUN/model.safetensors" "$SAVED" && echo "$SAVED: commit it" ;;
*)
  echo "usage: sh $0 start|stop|save" >&2; exit 2 ;;
esac
