#!/bin/sh
# CPU meta-training that outlives a session (issue 10; benchmarks/training/README.md). Run from anywhere:
#   sh benchmarks/training/run.sh <run> start   # in the background; resumes runs/<run>, else starts from the
#                                               # committed benchmarks/training/<run>.safetensors, else from the shipped start
#   sh benchmarks/training/run.sh <run> stop    # waits for the next checkpoint, then stops it
#   sh benchmarks/training/run.sh <run> save    # the run's model file into the repository, to commit
# <run>.args here holds the run's own meta-train flags. PROCS (2: torchrun processes of one thread, a
# share of the meta-batch each), ITERS (3000) and RUN (runs/<run>) can be set; EXTRA="--flag value"
# overrides a flag (argparse keeps the last).
cd "$(dirname "$0")/../.." || exit 1
usage() { echo "usage: sh $0 <run> start|stop|save, with <run>.args in benchmarks/training" >&2; exit 2; }
NAME=${1:-}
ARGS=benchmarks/training/$NAME.args
[ -n "$NAME" ] && [ -f "$ARGS" ] || usage
RUN=${RUN:-runs/$NAME}
SAVED=benchmarks/training/$NAME.safetensors
INIT=${INIT:-$( [ -f "$SAVED" ] && echo "$SAVED" || echo src/metastyle/weights/metastyle-small.safetensors )}
case ${2:-} in
start)
  mkdir -p runs/logs
  # shellcheck disable=SC2046  # the flags file is split into words on purpose
  OMP_NUM_THREADS=1 nohup .venv/bin/torchrun --standalone --nproc_per_node "${PROCS:-2}" -m metastyle meta-train \
    --content-dir builtin --content-dir ../shared/data/photos --init "$INIT" -o "$RUN" --resume --iters "${ITERS:-3000}" \
    --half --precision auto $(grep -v '^#' "$ARGS") ${EXTRA:-} >> "runs/logs/$NAME.log" 2>&1 &
  echo "started (pid $!, log runs/logs/$NAME.log)" ;;
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
  usage ;;
esac
