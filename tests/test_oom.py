"""Out of memory at model load, for real: llama.cpp's allocation fails under an address-space
limit (RLIMIT_AS) in a child process, and `repoctx review` retries once at half the context.

The child runs the real CLI. It first measures what the model costs at two contexts (so the
limit follows this machine's libraries, thread stacks and allocator), then sets RLIMIT_AS to
what a context of ``fraction`` × N needs and asks for N. With 0.75 the N-token context fails
in llama.cpp (KV cache or compute buffers) and the N/2 retry fits; with 0.3 both fail, and the
user gets one line and exit 3.

Out of memory *during prefill* cannot be produced on this CPU build: llama.cpp reserves the
KV cache and compute buffers when the context is created, and what it allocates while
decoding (OpenMP threads, the CPU backend's work buffer via ``new``) aborts the process
(libgomp "Thread creation failed", ``std::bad_alloc`` → terminate) instead of failing the
call — see docs/reliability.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ggufgen import AttnDims, cached_plain

pytestmark = pytest.mark.slow
N_CTX = 65536

CHILD = r"""
import resource, sys
from pathlib import Path
import llama_cpp
from repoctx.cli import main
from repoctx.llm.runtime import LoadSettings, Runtime

model, repo, out, n, fraction = sys.argv[1:4] + [int(sys.argv[4]), float(sys.argv[5])]


def address_space() -> int:
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmSize:"))


from repoctx.llm.open import _planned

# review plans a given budget (its n_ubatch sizes the compute buffers): measure with the same
sizing = _planned(Path(model), n - 1028, 4, "f16")
ubatch = sizing.n_ubatch if sizing is not None else 512

def loaded(n_ctx: int) -> int:
    rt = Runtime(Path(model), LoadSettings(n_ctx=n_ctx, n_ubatch=ubatch))  # as review loads
    try:
        return address_space()
    finally:
        rt.close()


# one small review first: every import, the model's threads and buffers are in place
main(["review", repo, "--model", model, "--budget", "1000", "--max-tokens", "2", "-o", out])
small, large = loaded(4096), loaded(4096 + 16384)
per_token = (large - small) / 16384
limit = int(small + per_token * (fraction * n - 4096))
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
print("=== limited", flush=True)
print("=== limited", file=sys.stderr, flush=True)
sys.exit(main(["review", repo, "--model", model, "--budget", str(n - 1028),
               "--max-tokens", "4", "-o", out]))
"""


@pytest.fixture(scope="module")
def wide_kv_model() -> Path:
    """A tiny model with a wide KV cache (16 KiB a token): N tokens cost ~N × 16 KiB."""
    dims = AttnDims(n_embd=256, n_head=8, n_head_kv=8, head_dim=128, n_ff=256)
    return cached_plain(n_layer=4, attn=dims, n_ctx_train=131072)


def _review_limited(model: Path, tmp_path: Path, fraction: float) -> tuple[int, str, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "m.py").write_text("def add(a, b):\n    return a + b\n")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(repo), str(tmp_path / "out.md"),
         str(N_CTX), str(fraction)], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = done.stdout.split("=== limited", 1)[-1]
    err = done.stderr.split("=== limited", 1)[-1]
    return done.returncode, out, err


def test_oom_at_load_retries_once_at_half_the_context(wide_kv_model: Path,
                                                      tmp_path: Path) -> None:  # fmt: skip
    code, out, err = _review_limited(wide_kv_model, tmp_path, 0.75)
    assert code == 0, err
    assert f"out of memory at n_ctx {N_CTX}" in err
    assert f"retrying with a {N_CTX // 2}-token context" in err
    assert f"context {N_CTX // 2:,} tokens" in out  # the review ran in the smaller context
    assert "Traceback" not in err


def test_oom_twice_is_one_line_and_exit_3(wide_kv_model: Path, tmp_path: Path) -> None:
    code, _, err = _review_limited(wide_kv_model, tmp_path, 0.3)
    assert code == 3, err
    lines = [line for line in err.splitlines() if line.startswith("repoctx:")]
    assert len(lines) == 2 and "retrying" in lines[0]  # the warning, then the error
    assert f"out of memory at n_ctx {N_CTX // 2}" in lines[1]
    assert "Traceback" not in err
    assert "## Static facts" in (tmp_path / "out.md").read_text()  # --output still written
