"""How long a saved prefix state takes to become readable by llama.cpp (issue 9, disk path).

A 27B state at 64K is ~3.6 GiB of KV plus checkpoints; reading it into a freshly allocated
(zero-filled) C buffer costs the allocation before the read. ``StateStore.read_full`` maps the
file instead. This times both on a synthetic state of ``--gib`` GiB written through the real
store, each followed by one pass over every byte (what llama.cpp's restore does), page cache
warm (the file was just written), median of ``--runs``.

    python bench/state_read.py [--gib 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import tempfile
import time
from pathlib import Path

from repoctx.llm.prefix_states import StateStore, read_entry


def consume(buf: ctypes.Array[ctypes.c_uint8], sink: ctypes.Array[ctypes.c_char]) -> None:
    """Read every byte once, in 64 MiB steps, as a restore copying it to the device would."""
    step = len(sink)
    base = ctypes.addressof(buf)
    for at in range(0, len(buf), step):
        ctypes.memmove(sink, base + at, min(step, len(buf) - at))


def old_read(path: Path, start: int, size: int) -> ctypes.Array[ctypes.c_uint8]:
    buf = (ctypes.c_uint8 * size)()
    with open(path, "rb") as f:
        f.seek(start)
        f.readinto(buf)
    return buf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size = int(args.gib * (1 << 30))
    sink = ctypes.create_string_buffer(64 << 20)
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(Path(tmp) / "states")
        path = store.save("k", {"model": "bench"}, list(range(1000)), b"\x01" * size, [])
        assert path is not None
        entry = read_entry(path)
        assert entry is not None
        start = entry.data_start + int(entry.header["full"][0])
        times: dict[str, list[float]] = {"read into a new buffer": [], "mapped (read_full)": []}
        for _ in range(args.runs):
            for name in times:
                t0 = time.perf_counter()
                buf = (old_read(path, start, size) if name.startswith("read")
                       else store.read_full(entry))
                consume(buf, sink)
                times[name].append(time.perf_counter() - t0)
                del buf
    print(json.dumps({"gib": args.gib, "runs": args.runs,
                      **{k: round(statistics.median(v), 3) for k, v in times.items()}}))


if __name__ == "__main__":
    main()
