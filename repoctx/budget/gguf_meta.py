"""A fast GGUF header reader: key/values and tensor infos, never the weights.

Why not ``gguf.GGUFReader``: it materialises every array, including the 248k-entry token and
merge lists of Qwen 3.5, and needs ~11 s on the 27B header. Planning only needs scalars,
per-layer arrays and tensor shapes, so large arrays are stepped over (their element count is
kept) the way gguf-parser's SkipLargeMetadata does, and the file is memory-mapped so that a
17 GB model costs only the pages of its header. Split GGUFs (``-00001-of-0000N``) are read as
one model, as llama_model_loader does with its ``splits``.

Format reference: ggml/src/gguf.cpp (gguf_init_from_file_impl) — magic, version, tensor and
KV counts, typed key/values, then tensor infos (name, dims, ggml type, offset), then the data
section aligned to ``general.alignment`` (default 32).
"""

from __future__ import annotations

import functools
import mmap
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repoctx.errors import InputError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
SMALL_ARRAY = 4096  # arrays up to this many elements are parsed (per-layer arrays ≤ 512)
GGML_MAX_DIMS = 4

# gguf value type ids (gguf.cpp enum gguf_type) → struct format of one element
_SCALAR_FMT: dict[int, str] = {
    0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9
_SPLIT_RE = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


@dataclass(frozen=True)
class LargeArray:
    """An array that was skipped, not parsed: only its element type and length are known."""

    elem_type: int
    length: int

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's description; ``shape`` is in ggml order (ne0 first), ``nbytes`` exact."""

    name: str
    shape: tuple[int, ...]
    ggml_type: int
    nbytes: int
    offset: int
    split: int = 0


@dataclass
class GGUFHeader:
    """Everything in a GGUF (or a set of splits) except the tensor data."""

    path: Path
    version: int
    kv: dict[str, Any]
    tensors: list[TensorInfo]
    files: list[Path] = field(default_factory=list)
    file_bytes: int = 0

    @property
    def arch(self) -> str:
        return str(self.kv.get("general.architecture", ""))

    def tensor_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)


class _Cursor:
    """Bounds-checked little/big-endian reads from a memory map."""

    def __init__(self, buf: mmap.mmap | bytes, path: Path, order: str = "<") -> None:
        self.buf, self.path, self.order, self.pos = buf, path, order, 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise InputError(f"{self.path}: truncated GGUF (ends inside {what} at byte {self.pos})")

    def unpack(self, fmt: str, what: str) -> Any:
        size = struct.calcsize(self.order + fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(self.order + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self, what: str) -> str:
        n = self.unpack("Q", what)
        self.need(n, what)
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int, what: str) -> None:
        # The hot loop of a 248k-token vocabulary: local names, no per-item checks but one.
        buf, pos, unpack_from, fmt = self.buf, self.pos, struct.unpack_from, self.order + "Q"
        end = len(buf)
        for _ in range(count):
            if pos + 8 > end:
                break
            pos += 8 + unpack_from(fmt, buf, pos)[0]
        self.pos = pos
        self.need(0, what)


def _value(cur: _Cursor, vtype: int, key: str) -> Any:
    if vtype in _SCALAR_FMT:
        return cur.unpack(_SCALAR_FMT[vtype], key)
    if vtype == _STRING:
        return cur.string(key)
    if vtype == _ARRAY:
        return _array(cur, key)
    raise InputError(f"{cur.path}: GGUF key {key!r} has unknown value type {vtype}")


def _array(cur: _Cursor, key: str) -> Any:
    elem = cur.unpack("I", key)
    count = cur.unpack("Q", key)
    if elem == _STRING:
        if count > SMALL_ARRAY:
            cur.skip_strings(count, key)
            return LargeArray(elem, count)
        return [cur.string(key) for _ in range(count)]
    if elem not in _SCALAR_FMT:
        raise InputError(f"{cur.path}: GGUF array {key!r} has unsupported element type {elem}")
    fmt = _SCALAR_FMT[elem]
    size = struct.calcsize(fmt) * count
    cur.need(size, key)
    if count > SMALL_ARRAY:
        cur.pos += size
        return LargeArray(elem, count)
    values = list(struct.unpack_from(f"{cur.order}{count}{fmt}", cur.buf, cur.pos))
    cur.pos += size
    return values


@functools.cache
def _ggml_sizes() -> dict[int, tuple[int, int]]:
    from gguf.constants import GGML_QUANT_SIZES  # the package's table of (block, bytes)

    return {int(k): (int(v[0]), int(v[1])) for k, v in GGML_QUANT_SIZES.items()}


def _nbytes(path: Path, name: str, shape: tuple[int, ...], ggml_type: int) -> int:
    """ggml_nbytes for a contiguous tensor: rows of ne0/block blocks of type_size bytes."""
    sizes = _ggml_sizes()
    if ggml_type not in sizes:
        raise InputError(f"{path}: tensor {name!r} has unknown ggml type {ggml_type}")
    block, type_size = sizes[ggml_type]
    n = 1
    for d in shape:
        n *= d
    if shape and shape[0] % block:
        raise InputError(f"{path}: tensor {name!r} row of {shape[0]} is not whole blocks")
    return n // block * type_size


def _open_cursor(path: Path) -> tuple[_Cursor, Any, int]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the caller with the map
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    size = Path(path).stat().st_size
    if size < 24:
        f.close()
        raise InputError(f"{path}: not a GGUF file ({size} bytes, too short for a header)")
    buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if bytes(buf[:4]) != GGUF_MAGIC:
        magic = bytes(buf[:4])
        buf.close()
        f.close()
        raise InputError(f"{path}: not a GGUF file (magic {magic!r}, expected b'GGUF')")
    return _Cursor(buf, path), f, size


def read_header(path: str | Path) -> GGUFHeader:
    """Read one GGUF file's key/values and tensor infos (no split handling)."""
    p = Path(path)
    cur, f, size = _open_cursor(p)
    try:
        cur.pos = 4
        version = cur.unpack("I", "version")
        if version & 0xFFFF == 0:  # written on a big-endian host (gguf.cpp byteswaps too)
            cur.order = ">"
            version = struct.unpack(">I", struct.pack("<I", version))[0]
        if version not in (2, 3):
            raise InputError(f"{p}: unsupported GGUF version {version} (2 and 3 are)")
        n_tensors = cur.unpack("Q", "tensor count")
        n_kv = cur.unpack("Q", "key/value count")
        if n_tensors > 1 << 24 or n_kv > 1 << 24:
            raise InputError(f"{p}: corrupt GGUF header ({n_tensors} tensors, {n_kv} keys)")
        kv: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cur.string("a key name")
            kv[key] = _value(cur, cur.unpack("I", key), key)
        tensors = [_tensor_info(cur, p) for _ in range(n_tensors)]
        _check_data(cur, p, kv, tensors, size)
        return GGUFHeader(p, version, kv, tensors, [p], size)
    finally:
        cur.buf.close()  # type: ignore[union-attr]
        f.close()


def _tensor_info(cur: _Cursor, path: Path) -> TensorInfo:
    name = cur.string("a tensor name")
    n_dims = cur.unpack("I", name)
    if not 1 <= n_dims <= GGML_MAX_DIMS:
        raise InputError(f"{path}: tensor {name!r} has {n_dims} dimensions")
    shape = tuple(cur.unpack("Q", name) for _ in range(n_dims))
    ggml_type = cur.unpack("I", name)
    offset = cur.unpack("Q", name)
    return TensorInfo(name, shape, ggml_type, _nbytes(path, name, shape, ggml_type), offset)


def _check_data(
    cur: _Cursor, path: Path, kv: dict[str, Any], tensors: list[TensorInfo], size: int
) -> None:
    """A truncated download keeps its header: check the data section really is there."""
    align = int(kv.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
    start = (cur.pos + align - 1) // align * align
    end = max((t.offset + t.nbytes for t in tensors), default=0)
    if start + end > size:
        raise InputError(
            f"{path}: truncated GGUF: tensor data needs {start + end} bytes, the file has {size}"
        )


def split_paths(path: Path, count: int) -> list[Path]:
    """All files of a split model, from any one of them (llama_split_path naming)."""
    m = _SPLIT_RE.match(path.name)
    if not m:
        raise InputError(f"{path}: split.count is {count} but the name is not -0000N-of-0000M")
    prefix = m.group("prefix")
    return [path.with_name(f"{prefix}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def read_gguf(path: str | Path) -> GGUFHeader:
    """Read a model's header; for split GGUFs, merge every split's tensors into one view."""
    first = read_header(path)
    count = int(first.kv.get("split.count", 0) or 0)
    if count <= 1:
        return first
    paths = split_paths(first.path, count)
    headers = []
    for i, p in enumerate(paths):
        if not p.exists():
            raise InputError(f"{first.path}: split {i + 1} of {count} is missing ({p.name})")
        headers.append(first if p == first.path else read_header(p))
    main = headers[0]
    tensors = [
        TensorInfo(t.name, t.shape, t.ggml_type, t.nbytes, t.offset, i)
        for i, h in enumerate(headers)
        for t in h.tensors
    ]
    declared = int(main.kv.get("split.tensors.count", len(tensors)))
    if declared != len(tensors):
        raise InputError(f"{main.path}: splits hold {len(tensors)} tensors, expected {declared}")
    return GGUFHeader(
        main.path, main.version, main.kv, tensors, paths, sum(h.file_bytes for h in headers)
    )
