#!/usr/bin/env bash
# Everything in stilts that needs a GPU, as one prepared run (<= 8 minutes on one H100/H200):
#   1. bare_encoder  the encoder + head training-step table (benchmarks/gpu.py): roberta_base/large,
#                    length 256, bf16/fp32, SDPA/eager, tokens/s and MFU;
#   2. full_path     stilts' own path vs a raw PyTorch loop (benchmarks/gpu_path.py): roberta_base/large,
#                    bf16-mixed + SDPA, real-pair lengths (lognormal:82:0.35:256), batch 32 and 128;
#   3. sweep_gpu     `stilts-train -m` two cells end to end (mnli -> rte, cb) on trainer=gpu (bf16);
#   4. sweep_ddp     the same sweep on trainer=ddp with one device;
#   5. precision     bf16-mixed and fp32 reach the same dev score on a small tiny-model cell, two
#                    seeds each (benchmarks/precision_check.py).
# Each step runs under its own timeout (and all of them within TOTAL_S); its exit status, wall time,
# log tail and JSON result go to benchmarks/gpu_results.json as soon as it ends.
#
# Needs no Hub and no network: the architectures and the tiny tokenizer ship with stilts, the sweeps
# read tests/fixtures/data. It needs a Python with stilts' dependencies and a CUDA build of torch:
# $STILTS_PYTHON if set (no set-up then), else .venv-gpu/bin/python or .venv/bin/python when their
# torch sees the GPU, else `make install VENV=.venv-gpu CONSTRAINTS=` (PyPI; CONSTRAINTS= lifts the
# CPU-only torch pin). Without a GPU it says so and exits 0 without running anything.
set -u -o pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
TOTAL_S=${TOTAL_S:-470}
export GPU_RESULTS=${GPU_RESULTS:-$REPO/benchmarks/gpu_results.json}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=offline
export TOKENIZERS_PARALLELISM=false PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}

sees_cuda() {  # $1: a python; true when its torch sees a CUDA device
    [ -x "$1" ] && "$1" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
}

has_gpu_hardware() {
    { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; } ||
        compgen -G '/dev/nvidia[0-9]*' >/dev/null
}

PY=""
if [ -n "${STILTS_PYTHON:-}" ]; then
    STILTS_PYTHON=$(command -v "$STILTS_PYTHON" || echo "$STILTS_PYTHON")  # a name on PATH, or a path
    sees_cuda "$STILTS_PYTHON" && PY=$STILTS_PYTHON
else
    for candidate in .venv-gpu/bin/python .venv/bin/python; do
        if sees_cuda "$candidate"; then PY=$REPO/$candidate; break; fi
    done
fi
if [ -z "$PY" ]; then
    if ! has_gpu_hardware; then
        echo "gpu_check: no GPU on this machine (nvidia-smi lists none, no /dev/nvidia*): nothing run."
        exit 0
    fi
    if [ -n "${STILTS_PYTHON:-}" ]; then
        echo "gpu_check: a GPU is present but the torch of STILTS_PYTHON=$STILTS_PYTHON sees no CUDA" \
            "device (a CPU-only build?): nothing run." >&2
        exit 2
    fi
    echo "gpu_check: a GPU is present but no venv with a CUDA torch: make install VENV=.venv-gpu CONSTRAINTS="
    if ! timeout 900 make install VENV=.venv-gpu CONSTRAINTS= PYTHON="${PYTHON:-python3}" ||
        ! sees_cuda .venv-gpu/bin/python; then
        echo "gpu_check: set-up failed (it needs PyPI); prepare a venv with a CUDA torch and stilts' dependencies" \
            "and pass it as STILTS_PYTHON=/path/to/python. Nothing run." >&2
        exit 2
    fi
    PY=$REPO/.venv-gpu/bin/python
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stilts-gpu-check.XXXXXX")
rm -f "$GPU_RESULTS"
echo "gpu_check: $("$PY" -c 'import torch; print(torch.cuda.get_device_name(), "torch", torch.__version__)')"
echo "gpu_check: results -> $GPU_RESULTS, logs -> $WORK"
FAILED=0
SECONDS=0  # TOTAL_S covers the steps, not a set-up

step() {  # step NAME BUDGET_S RESULT_JSON COMMAND...: run under min(budget, time left), record it
    local name=$1 budget=$2 result=$3
    shift 3
    local left=$((TOTAL_S - SECONDS))
    [ "$left" -lt "$budget" ] && budget=$left
    if [ "$budget" -le 5 ]; then
        echo "gpu_check: $name skipped (the ${TOTAL_S} s budget is spent)" | tee "$WORK/$name.log"
        "$PY" -m benchmarks.gpu_results record "$name" 124 0 "$WORK/$name.log"
        FAILED=1
        return
    fi
    echo "gpu_check: $name (at most ${budget} s)"
    local started=$SECONDS rc=0
    timeout --kill-after=10 "$budget" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
    "$PY" -m benchmarks.gpu_results record "$name" "$rc" "$((SECONDS - started))" "$WORK/$name.log" "$result"
    if [ "$rc" -eq 0 ]; then echo "gpu_check: $name ok"; else echo "gpu_check: $name FAILED ($rc)"; FAILED=1; fi
}

sweep() {  # sweep TRAINER [OVERRIDES...]: the two-cell sweep on that trainer, then its outcome
    local trainer=$1 dir=$WORK/sweep_$1
    shift
    "$PY" -m stilts.train -m model=tiny "trainer=$trainer" "$@" logger=csv task@intermediate=mnli \
        task@target=rte,cb schedule=epochs intermediate.max_epochs=1 target.max_epochs=2 \
        +trainer.enable_progress_bar=false \
        "paths.data_dir=$REPO/tests/fixtures/data" "paths.cache_dir=$dir/cache" "paths.output_dir=$dir" \
        sweep_name=gpu_check &&
        "$PY" -m benchmarks.gpu_results sweep "$dir/multirun/gpu_check" "$WORK/sweep_$trainer.json" 2
}

step bare_encoder 120 "$WORK/bare_encoder.json" "$PY" -m benchmarks.gpu --out "$WORK/bare_encoder.json"
step full_path 180 "$WORK/full_path.json" "$PY" -m benchmarks.gpu_path --out "$WORK/full_path.json"
export -f sweep
export PY WORK REPO
step sweep_gpu 75 "$WORK/sweep_gpu.json" bash -c 'sweep gpu'
step sweep_ddp 75 "$WORK/sweep_ddp.json" bash -c 'sweep ddp trainer.devices=1'
# The tiny model (no optional package), fused AdamW with clipping (the path Lightning refused), the
# settings of the earlier CPU calibration (BENCHMARKS.md): 2 seeds x both precisions.
step precision 90 "$WORK/precision.json" "$PY" -m benchmarks.precision_check --accelerator gpu --model tiny \
    --optim adamw --lr 3e-4 --tasks demo_tense --seeds 2 --examples 4000 --dev-examples 400 --floor 0.75 \
    --out "$WORK/precision.json"

echo "gpu_check: done in ${SECONDS} s; results in $GPU_RESULTS"
exit $FAILED
