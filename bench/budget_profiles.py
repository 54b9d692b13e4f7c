"""Write repoctx/budget/profiles.json: the built-in Qwen 3.5 profiles of ``repoctx budget``.

Each profile is the header facts of a full-layout sparse GGUF that tests/ggufgen.py writes
(the exact Qwen 3.5 27B tensor layout, tensor types by llama-quant.cpp's rules for the
quantisation), so ``budget --model qwen3.5-27b-q4_k_m`` plans exactly as the file would.
tests/test_budget_profiles.py checks the JSON is current and plans like the GGUFs.

It also writes the "what fits on my card" table of docs/gpu.md (between its fit-table
markers) from the shipped profiles with repoctx's own planner; the same test checks it.

Run: ``.venv/bin/python bench/budget_profiles.py`` (a few seconds; no download).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "repoctx" / "budget" / "profiles.json"
DOC = ROOT / "docs" / "gpu.md"
BEGIN, END = "<!-- fit-table:begin -->", "<!-- fit-table:end -->"
CARDS = (("16 GB", "rtx4080"), ("24 GB", "rtx4090"), ("32 GB", "rtx5090"), ("48 GB", "l40s"),
         ("80 GB", "h100"))  # fmt: skip
QUANTS_27B = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16")
SOURCE = (
    "Header facts of Qwen 3.5 GGUFs for `repoctx budget --model NAME` before a download. "
    "Written by bench/budget_profiles.py from full-layout sparse GGUFs (tests/ggufgen.py: "
    "Qwen 3.5 27B's 64 layers, 16 full attention + 48 Gated DeltaNet, vocabulary 248,320, "
    "trained context 262,144; tensor types by llama-quant.cpp's llama_tensor_get_type for "
    "each file type). Released files may differ by tens of MiB (imatrix or per-uploader "
    "type overrides); a downloaded file is always read itself."
)


def build() -> dict[str, Any]:
    """The profiles table, generated from the sparse GGUFs (cached by tests/ggufgen.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from ggufgen import write_27b_header

    from repoctx.budget.profiles import from_gguf

    table: dict[str, Any] = {}
    for quant in QUANTS_27B:
        path = write_27b_header(quant=quant)
        table[f"qwen3.5-27b-{quant.lower()}"] = from_gguf(path, f"Qwen3.5-27B {quant}")
    return {"source": SOURCE, "profiles": table}


def render(data: dict[str, Any]) -> str:
    """One profile per block, per-layer lists on one line: small diffs when a number moves."""
    return json.dumps(data, indent=1) + "\n"


def _k(n: int) -> str:
    return f"{n // 1024}K" if n else "—"


def fit_table() -> str:
    """Markdown: per profile, file size and the largest context per card (f16 / q8_0 KV)."""
    sys.path.insert(0, str(ROOT))
    from repoctx.budget import plan, profiles, what_if

    head = "| File | Size | " + " | ".join(f"{label} ({card})" for label, card in CARDS) + " |"
    lines = [head, "|" + "---|" * (len(CARDS) + 2)]
    for name in profiles.profiles():
        m = profiles.meta(name)
        cells = []
        for _, card in CARDS:
            f16 = plan(m, what_if(card), kv_type="f16").max_ctx
            q8 = plan(m, what_if(card), kv_type="q8_0").max_ctx
            cells.append("does not fit" if not q8 else f"{_k(f16)} · {_k(q8)}")
        size = f"{m.file_bytes / 2**30:.2f} GiB"
        lines.append(f"| `{name}` | {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def with_table(doc: str, table: str) -> str:
    """``doc`` with the text between the fit-table markers replaced by ``table``."""
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    return doc[:start] + "\n" + table + doc[end:]


def main() -> int:
    OUT.write_text(render(build()), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    DOC.write_text(with_table(DOC.read_text(encoding="utf-8"), fit_table()), encoding="utf-8")
    print(f"wrote the fit table of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
