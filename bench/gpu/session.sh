#!/usr/bin/env bash
# A GPU session in as few device calls as possible (DESIGN.md §7). Each call: set up
# llama-cpp-python 0.3.36 with CUDA (already there on a warm machine; else from a wheel built
# by an earlier call and carried back in bench/gpu/.devbuilt; else built from the trimmed
# sdist in bench/gpu/.devcarry, the wheel then returned in $OUT as ≤15 MiB parts), install the
# wheels in bench/gpu/.devwheels, then run STEPS in order until the call's deadline. Every step
# appends JSON lines to $OUT/results.jsonl and its output to $OUT/session.log.
#
#   run(command="STEPS=gen,incr_review,reuse,budget bash bench/gpu/session.sh",
#       carry=["bench/gpu/.devcarry", "bench/gpu/.devwheels"])
#   run(command="STEPS=control,overhead,requests,hook,django bash bench/gpu/session.sh",
#       carry=["bench/gpu/.devbuilt", "bench/gpu/.devwheels", "bench/gpu/.devdata"])
#
# Steps: gen (the sparse 27B-shaped GGUF), incr_review / incr_hook (bench/gpu/incremental_gpu.py),
# doctor / reuse / control (bench/gpu/suite.py), budget (bench/gpu/budget_vs_nvml.py at the
# planner's n_ubatch), overhead (bench/llm_overhead.py on the 27B shape), django (`repoctx
# review` on Django's source, carried as bench/gpu/.devdata/django-src.tar.xz).
set -uo pipefail
START=$(date +%s)
DEADLINE=$((START + ${LIMIT:-570}))
export SUITE_DEADLINE=$DEADLINE PYTHONUNBUFFERED=1
REPO=$(pwd)
OUT=${OUT:-/tmp/out}
LOG=$OUT/session.log
MODEL=/tmp/qwen35-27b.gguf
mkdir -p "$OUT" /tmp/wh
git config --global --add safe.directory '*' 2>/dev/null
exec > >(tee -a "$LOG") 2>&1

left() { echo $((DEADLINE - $(date +%s))); }

setup() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader
  git --version || echo "no git on the device"
  if [ -f /tmp/site/llama_cpp/__init__.py ]; then echo "warm: llama_cpp already installed"; return 0; fi
  local parts=("$REPO"/bench/gpu/.devbuilt/*.part*)
  if [ -f "${parts[0]}" ]; then
    local name; name=$(basename "${parts[0]}"); name=${name%.part*}
    cat "${parts[@]}" > "/tmp/wh/$name"
    echo "carried wheel: $name"
  else
    mkdir -p /tmp/lcp
    tar xzf "$REPO"/bench/gpu/.devcarry/llama_cpp_python-0.3.36-trim.tar.gz -C /tmp/lcp
    (cd /tmp/lcp/llama_cpp_python-0.3.36 &&
     CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF" \
     CMAKE_BUILD_PARALLEL_LEVEL=16 python3 -m pip wheel --no-build-isolation --no-deps . \
       -w /tmp/wh) > /tmp/build.log 2>&1 || { tail -40 /tmp/build.log; return 1; }
    local wheel; wheel=$(ls /tmp/wh/llama_cpp_python*.whl)
    ls -la "$wheel"
    split -b 15M -d "$wheel" "$OUT/$(basename "$wheel").part"
    echo "built in $(( $(date +%s) - START )) s"
  fi
  python3 -m pip install -q --no-deps --no-compile --target /tmp/site /tmp/wh/llama_cpp_python*.whl \
    "$REPO"/bench/gpu/.devwheels/*.whl > /tmp/install.log 2>&1 || { tail -20 /tmp/install.log; return 1; }
  echo "setup done at $(( $(date +%s) - START )) s"
}

step() {  # name, then the command; skipped when under 45 s are left
  local name=$1; shift
  if [ "$(left)" -lt 45 ]; then echo "== $name: skipped ($(left) s left)"; return; fi
  echo "== $name at $(( $(date +%s) - START )) s ($(left) s left)"
  "$@"
  echo "== $name: rc $? at $(( $(date +%s) - START )) s"
}

T() { timeout --kill-after=5 "$(left)" "$@"; }  # a command, stopped at the call's deadline

json_lines() {  # tag every JSON line a command prints with the step, into results.jsonl
  local name=$1; shift
  "$@" | while IFS= read -r line; do
    echo "$line"
    case $line in "{"*) echo "{\"step\": \"$name\", \"data\": $line}" >> "$OUT/results.jsonl" ;; esac
  done
}

django() {
  mkdir -p /tmp/dj && tar xJf "$REPO"/bench/gpu/.devdata/django-src.tar.xz -C /tmp/dj
  local repo; repo=$(ls -d /tmp/dj/django-*)
  (cd "$repo" && git init -q && git add -A && git -c user.name=b -c user.email=b@e commit -qm import) || true
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > /tmp/dj-vram.txt &
  local smi=$!
  local t0; t0=$(date +%s.%N)
  T python3 -m repoctx review "$repo" --model "$MODEL" --no-whole --budget "${DJANGO_BUDGET:-61440}" \
    --no-think --max-tokens 256 --format markdown -o /tmp/dj-review.md 2> /tmp/dj-stderr.txt \
    > /tmp/dj-stdout.txt
  local rc=$?
  local t1; t1=$(date +%s.%N)
  kill $smi
  tail -25 /tmp/dj-stderr.txt
  python3 - "$rc" "$t0" "$t1" <<'PY' >> "$OUT/results.jsonl"
import json, sys
rc, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
vram = [int(x) for x in open("/tmp/dj-vram.txt").read().split() if x.strip().isdigit()]
print(json.dumps({"step": "django", "rc": rc, "wall_s": round(t1 - t0, 1),
                  "peak_vram_mib": max(vram or [0]), "idle_vram_mib": min(vram or [0]),
                  "stderr_tail": open("/tmp/dj-stderr.txt").read()[-3000:],
                  "stdout_tail": open("/tmp/dj-stdout.txt").read()[-600:]}))
PY
}

setup || exit 1
export PYTHONPATH=/tmp/site:$REPO REPOCTX_CACHE_DIR=/tmp/repoctx-cache
for s in ${STEPS//,/ }; do
  case $s in
    gen) step gen T python3 bench/gpu/budget_vs_nvml.py gen "$MODEL" ;;
    incr_review) step incr_review T env CASES=review python3 bench/gpu/incremental_gpu.py ;;
    incr_hook) step incr_hook T env CASES=hook python3 bench/gpu/incremental_gpu.py ;;
    doctor|reuse|control) step "$s" T env SUITE_STEPS="$s" python3 bench/gpu/suite.py ;;
    budget) step budget json_lines budget T python3 bench/gpu/budget_vs_nvml.py measure "$MODEL" \
      ${BUDGET_CONFIGS:-4096:f16:2048:2048 8192:f16:8192:2048 32768:f16:8192:2048 \
        65536:f16:8192:2048 131072:f16:8192:2048 262144:f16:8192:2048 65536:q8_0:8192:2048 \
        131072:q8_0:8192:2048} ;;
    overhead) step overhead json_lines overhead T python3 bench/llm_overhead.py --model "$MODEL" \
      --prompt-tokens "${OVERHEAD_TOKENS:-32768}" --decode 128 --n-batch 2048 --repeats 2 ;;
    django) step django django ;;
    split) step split json_lines split T python3 bench/gpu/split_vs_nvml.py "$MODEL" ;;
    oom) step oom json_lines oom T python3 bench/gpu/oom_prefill.py "$MODEL" ;;
    *) echo "unknown step $s" ;;
  esac
done
echo "total: $(( $(date +%s) - START )) s"
