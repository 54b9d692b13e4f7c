"""What memory the model can use: the real GPUs (NVML), a what-if card, or system RAM.

The plan starts from *free* memory per device, because a desktop GPU also drives a display
and another process may hold part of it. NVML (nvidia-ml-py) is imported only when asked;
when it is missing, finds no driver or fails, the plan runs against system RAM and says so:
that is where llama.cpp would put the model without a GPU.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Literal

from repoctx.errors import InputError
from repoctx.units import MiB, format_gib, parse_size

Source = Literal["nvml", "what-if", "vram", "system-ram", "server"]


@dataclass(frozen=True)
class GpuDevice:
    """One memory pool the model is spread over (a GPU, or system RAM as one device)."""

    name: str
    total_bytes: int
    free_bytes: int
    kind: Literal["cuda", "metal", "cpu"] = "cuda"


@dataclass(frozen=True)
class DeviceInfo:
    """The devices a plan runs against, where the facts came from, and what was assumed."""

    source: Source
    devices: tuple[GpuDevice, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        names = [d.name for d in self.devices]
        if len(set(names)) == 1 and len(names) > 1:
            return f"{len(names)}× {names[0]}"
        return " + ".join(names)

    @property
    def total_bytes(self) -> int:
        return sum(d.total_bytes for d in self.devices)

    @property
    def free_bytes(self) -> int:
        return sum(d.free_bytes for d in self.devices)

    @property
    def is_gpu(self) -> bool:
        return any(d.kind != "cpu" for d in self.devices)


@functools.cache
def _cards() -> dict[str, dict[str, Any]]:
    text = files("repoctx.budget").joinpath("gpus.json").read_text(encoding="utf-8")
    cards: dict[str, dict[str, Any]] = json.loads(text)["cards"]
    return cards


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def card_names() -> list[str]:
    return list(_cards())


def what_if(name: str) -> DeviceInfo:
    """A card from the table (``rtx4090``, ``a100-80``, ``h100``…): total minus the usual use."""
    wanted = _key(name).removeprefix("nvidia").removeprefix("geforce")
    for key, card in _cards().items():
        if _key(key) in (wanted, "rtx" + wanted):
            total = int(card["total_mib"]) * MiB
            free = total - int(card["reserved_mib"]) * MiB
            return DeviceInfo("what-if", (GpuDevice(card["name"], total, free, card["kind"]),))
    raise InputError(f"unknown GPU {name!r}: use one of {', '.join(card_names())} or --vram")


def from_vram(text: str) -> DeviceInfo:
    """``--vram 24GiB``: a card with that much free memory (nothing else assumed)."""
    size = parse_size(text, "--vram")
    return DeviceInfo("vram", (GpuDevice(f"{format_gib(size)} GPU", size, size),))


def system_ram(reason: str | None = None) -> DeviceInfo:
    """System RAM as the device: total and available (MemAvailable on Linux)."""
    total, free = _meminfo()
    warnings = (reason,) if reason else ()
    return DeviceInfo("system-ram", (GpuDevice("system RAM", total, free, "cpu"),), warnings)


def _meminfo() -> tuple[int, int]:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if ":" in line}
        return info["MemTotal"], info.get("MemAvailable", info.get("MemFree", 0))
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        free = os.sysconf("SC_AVPHYS_PAGES") * page if hasattr(os, "sysconf") else total
        return total, free
    except (ValueError, OSError, AttributeError):
        return 0, 0


def detect() -> DeviceInfo:
    """The GPUs NVML sees (name, total, free); system RAM with a warning when it cannot."""
    try:
        import pynvml
    except ImportError:
        return system_ram("nvidia-ml-py is not installed: planning for system RAM")
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, …: never a traceback
        return system_ram(
            f"no NVIDIA GPU found (NVML: {_nvml_error(exc)}): planning for system RAM"
        )
    try:
        devices = tuple(_nvml_devices(pynvml))
        if not devices:
            return system_ram("CUDA_VISIBLE_DEVICES hides every GPU: planning for system RAM")
        return DeviceInfo("nvml", devices)
    except Exception as exc:
        return system_ram(f"NVML failed ({_nvml_error(exc)}): planning for system RAM")
    finally:
        with contextlib.suppress(Exception):  # shutting down a library that may have failed
            pynvml.nvmlShutdown()


def _visible(pynvml: Any, count: int) -> list[int]:
    """NVML indices llama.cpp's CUDA backend will see (CUDA_VISIBLE_DEVICES, ids or UUIDs)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is None:
        return list(range(count))
    picked: list[int] = []
    uuids: dict[str, int] | None = None
    for item in (x.strip() for x in env.split(",")):
        if item.lstrip("-").isdigit():
            if not 0 <= int(item) < count:
                break  # CUDA stops at the first invalid entry
            picked.append(int(item))
            continue
        if uuids is None:
            uuids = {}
            for i in range(count):
                uuid = pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))
                uuids[uuid.decode() if isinstance(uuid, bytes) else str(uuid)] = i
        match = [i for u, i in uuids.items() if item and u.startswith(item)]
        if not match:
            break
        picked.append(match[0])
    return picked


def _nvml_devices(pynvml: Any) -> list[GpuDevice]:
    devices = []
    for i in _visible(pynvml, pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(i)
        name = pynvml.nvmlDeviceGetName(handle)
        mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
        devices.append(
            GpuDevice(
                name.decode() if isinstance(name, bytes) else str(name),
                int(mem.total),
                int(mem.free),
            )
        )
    return devices


def _nvml_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
