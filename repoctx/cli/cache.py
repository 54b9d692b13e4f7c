"""``repoctx cache info|clear``: what repoctx keeps in the user cache dir, and removing it."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

STATE_DIR = "states"  # saved model prefix states (incremental ingest)
PACKS_DIR = "packs"  # the pack memo: recent packs, answered again for an unchanged repo
REPOS_DIR = "repos"  # shallow checkouts of remote repositories (repoctx.remote)
REVIEWS = "whole_reviews.sqlite"  # per-pack answers of `repoctx review --whole` (resume)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cache", help="show or clear repoctx's caches (parse results, model states)",
        description="repoctx caches per-file parse results and token counts (keyed by content "
                    "hash) and, when enabled, evaluated model prefix states. Both live in the "
                    "user cache dir (REPOCTX_CACHE_DIR overrides), never in your repository.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="location, size and entries")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(run=run_info)
    clear = actions.add_parser("clear", help="delete cached data")
    which = clear.add_mutually_exclusive_group()
    which.add_argument("--scan", action="store_true",
                       help="only parse results and counts (and the packs made from them)")
    which.add_argument("--states", action="store_true", help="only saved model states")
    which.add_argument("--reviews", action="store_true",
                       help="only stored per-pack reviews of `review --whole`")
    which.add_argument("--repos", action="store_true",
                       help="only checkouts of remote repositories (pack/review/graph URL)")
    clear.set_defaults(run=run_clear)


def _inventory() -> dict[str, Any]:
    from repoctx.cache import Cache, default_cache_dir

    directory = default_cache_dir()
    scan = {"path": str(directory / "cache.sqlite"), "bytes": 0, "entries": 0}
    if (directory / "cache.sqlite").exists():
        cache = Cache(directory)
        try:
            scan.update(cache.info())
        finally:
            cache.close()
    states_dir = directory / STATE_DIR
    files = [p for p in states_dir.rglob("*") if p.is_file()] if states_dir.is_dir() else []
    states = {"path": str(states_dir), "bytes": sum(p.stat().st_size for p in files),
              "entries": len(files), **_state_details(states_dir)}
    reviews_path = directory / REVIEWS
    reviews = {"path": str(reviews_path), "bytes": _bytes_with_wal(reviews_path),
               "entries": _review_entries(reviews_path)}
    packs_dir = directory / PACKS_DIR
    memos = list(packs_dir.glob("*.json")) if packs_dir.is_dir() else []
    packs = {"path": str(packs_dir), "bytes": sum(p.stat().st_size for p in memos),
             "entries": len(memos)}
    from repoctx.remote import inventory

    return {"directory": str(directory), "scan": scan, "packs": packs, "states": states,
            "reviews": reviews, "repos": inventory()}


def _state_details(states_dir: Path) -> dict[str, Any]:
    """Each saved prefix state: model, tokens, checkpoints, size, last use; and the cap."""
    from repoctx.llm.statestore import ENV, StateStore, cap_from_env

    store = StateStore(states_dir, cap_from_env())
    saved = [{"model": e.header.get("model", "?"), "key": e.path.parent.name, "tokens": e.n,
              "checkpoints": len(e.marks()), "bytes": e.size,
              "n_ctx": (e.header.get("identity") or {}).get("settings", {}).get("n_ctx"),
              "last_used": time.strftime("%Y-%m-%d %H:%M", time.localtime(e.used))}
             for e in store.entries()]  # fmt: skip
    return {"cap_bytes": store.cap, "cap_setting": ENV, "saved": saved}


def _bytes_with_wal(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal", "-shm")
               if Path(f"{path}{suffix}").exists())


def _review_entries(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = [row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")]
            return sum(int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
                       for t in tables if t != "meta")
    except sqlite3.Error:
        return 0


def run_info(args: argparse.Namespace) -> int:
    facts = _inventory()
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    print(f"cache directory: {facts['directory']}")
    for key, label in (("scan", "parse results and token counts"),
                       ("packs", "remembered packs (answered again for an unchanged repo)"),
                       ("states", "saved model prefix states"),
                       ("reviews", "stored per-pack reviews (review --whole)"),
                       ("repos", "checkouts of remote repositories")):
        part = facts[key]
        print(f"  {label}: {part['entries']} entries, {_size(part['bytes'])} ({part['path']})")
        if key == "states":
            _print_states(part)
        if key == "repos":
            for c in part["checkouts"]:
                print(f"    {c['name']}: {c['origin']}, {_size(c['bytes'])}, "
                      f"last refreshed {c['used']}")
    return 0


def _print_states(part: dict[str, Any]) -> None:
    cap = part["cap_bytes"]
    limit = f"at most {_size(cap)}" if cap > 0 else "saving off"
    print(f"    {limit} ({part['cap_setting']}), least recently used evicted first")
    for s in part["saved"]:
        print(f"    {s['model']}: {s['tokens']:,} tokens, {s['checkpoints']} checkpoints, "
              f"{_size(s['bytes'])}, context {s['n_ctx']}, last used {s['last_used']}")


def run_clear(args: argparse.Namespace) -> int:
    from repoctx.cache import default_cache_dir

    directory = default_cache_dir()
    removed = 0
    everything = not (args.scan or args.states or args.reviews or args.repos)
    for name, wanted in (("cache.sqlite", args.scan), (REVIEWS, args.reviews)):
        if not (wanted or everything):
            continue
        for suffix in ("", "-wal", "-shm"):
            target = Path(f"{directory / name}{suffix}")
            if target.exists():
                removed += target.stat().st_size
                target.unlink()
    if (args.scan or everything) and (directory / PACKS_DIR).is_dir():
        removed += sum(p.stat().st_size for p in (directory / PACKS_DIR).iterdir()
                       if p.is_file())
        shutil.rmtree(directory / PACKS_DIR)
    if (args.states or everything) and (directory / STATE_DIR).is_dir():
        removed += sum(p.stat().st_size for p in (directory / STATE_DIR).rglob("*")
                       if p.is_file())
        shutil.rmtree(directory / STATE_DIR)
    if (args.repos or everything) and (directory / REPOS_DIR).is_dir():
        removed += sum(p.lstat().st_size for p in (directory / REPOS_DIR).rglob("*")
                       if p.is_file() and not p.is_symlink())
        shutil.rmtree(directory / REPOS_DIR)
    print(f"repoctx: removed {_size(removed)} from {directory}", file=sys.stderr)
    return 0


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"
