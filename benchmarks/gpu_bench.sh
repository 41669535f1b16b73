#!/usr/bin/env bash
# The GPU run in one command: a 1080p30 clip analysed on CUDA; prints the real-time factor, decode and model
# frames per second, GPU memory, and fp16 against fp32 (see benchmarks/gpu_bench.py for every figure).
#
#   benchmarks/gpu_bench.sh                       # 60 s clip, medium, CUDA
#   benchmarks/gpu_bench.sh --seconds 20          # shorter
#   benchmarks/gpu_bench.sh --device cpu --seconds 4   # check the script on a machine without a GPU
#
# It uses .venv (`make install`) when there is one, else `python3` (a GPU image with Torch, plus this project's
# requirements). BlazePose comes from ERGO_MODELS_DIR (default <ERGO_DATA_DIR>/models): run `ergo models fetch`
# first where the machine has no internet.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
export PYTHONUNBUFFERED=1
exec "$PYTHON" benchmarks/gpu_bench.py "$@"
