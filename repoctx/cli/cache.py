"""``repoctx cache info|clear``: every store repoctx keeps (:mod:`repoctx.stores`), and
removing them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from repoctx import stores
from repoctx.units import format_bytes

LABELS = {  # what `cache info` calls each store
    "scan": "parse results and token counts",
    "packs": "remembered packs (answered again for an unchanged repo)",
    "reviews": "stored per-pack reviews (review --whole)",
    "states": "saved model prefix states",
    "ranks": "tokenizer ranks (Qwen 3.5, parsed once)",
    "serve": "running `repoctx serve` address",
    "repos": "checkouts of remote repositories",
    "cochange": "files changed together, mined from git history",
    "fallback": "assembled fallback model (outside the cache dir)",
}


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cache", help="show or clear repoctx's caches (parse results, packs, model states, …)",
        description="repoctx keeps per-file parse results and token counts (keyed by content "
                    "hash), recent packs, per-pack reviews of `review --whole`, saved model "
                    "states and the parsed tokenizer ranks in the user cache dir "
                    "(REPOCTX_CACHE_DIR overrides), never in your repository; `cache info` "
                    "lists each with what it holds and its bound.")  # fmt: skip
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="location, size and entries of every store")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(run=run_info)
    clear = actions.add_parser(
        "clear", help="delete cached data (all of the cache dir unless one store is named)",
        description="Without a flag: every store in the cache dir except a running server's "
                    "address. The fallback model lives outside the cache dir and holds nothing "
                    "of yours: only --fallback removes it (it is assembled again when needed).")
    which = clear.add_mutually_exclusive_group()
    which.add_argument("--scan", action="store_true",
                       help="only parse results and counts (and the packs made from them)")
    which.add_argument("--states", action="store_true", help="only saved model states")
    which.add_argument("--reviews", action="store_true",
                       help="only stored per-pack reviews of `review --whole`")
    which.add_argument("--ranks", action="store_true", help="only the parsed tokenizer ranks")
    which.add_argument("--fallback", action="store_true",
                       help="only the assembled fallback model")
    which.add_argument("--repos", action="store_true",
                       help="only checkouts of remote repositories (pack/review/graph URL)")
    which.add_argument("--cochange", action="store_true",
                       help="only the co-change history mined from git (relevance)")
    clear.set_defaults(run=run_clear)


def _entries(store: stores.Store, directory: Path) -> int:
    if store is stores.SCAN:
        return _scan_entries(directory)
    if store is stores.REVIEWS:
        return _review_entries(store.path(directory))
    if store is stores.PACKS:
        return len([p for p in store.files(directory) if p.suffix == ".json"])
    return len(store.files(directory))


def _scan_entries(directory: Path) -> int:
    from repoctx.scanning.cache import Cache

    if not stores.SCAN.path(directory).exists():
        return 0
    cache = Cache(directory)
    try:
        return cache.info()["entries"]
    finally:
        cache.close()


def _inventory() -> dict[str, Any]:
    from repoctx.config import cache_dir

    directory = cache_dir()
    facts: dict[str, Any] = {"directory": str(directory)}
    for store in stores.ALL:
        facts[store.key] = {"path": str(store.path(directory)), "bytes": store.size(directory),
                            "entries": _entries(store, directory), "holds": store.holds,
                            "repository_content": store.repository_content,
                            "bound": store.bound, "cleared": store.cleared}
    facts["states"].update(_state_details(stores.STATES.path(directory)))
    from repoctx.remote import inventory  # start-up: `cache info` only

    checkouts = inventory()  # a checkout is one entry, not its files
    facts["repos"].update(entries=checkouts["entries"], checkouts=checkouts["checkouts"])
    fallback = stores.FALLBACK.files()
    facts["fallback"] = {"path": str(fallback[0]) if fallback else "",
                         "bytes": stores.FALLBACK.size(), "entries": len(fallback),
                         "holds": stores.FALLBACK.holds, "repository_content": False,
                         "bound": stores.FALLBACK.bound, "cleared": False}
    return facts


def _state_details(states_dir: Path) -> dict[str, Any]:
    """Each saved prefix state: model, tokens, checkpoints, size, last use; and the cap."""
    from repoctx.llm.prefix_states import ENV, StateStore, cap_from_env

    store = StateStore(states_dir, cap_from_env())
    saved = [{"model": e.header.get("model", "?"), "key": e.path.parent.name, "tokens": e.n,
              "checkpoints": len(e.marks()), "bytes": e.size,
              "n_ctx": (e.header.get("identity") or {}).get("settings", {}).get("n_ctx"),
              "last_used": time.strftime("%Y-%m-%d %H:%M", time.localtime(e.used))}
             for e in store.entries()]  # fmt: skip
    return {"cap_bytes": store.cap, "cap_setting": ENV, "saved": saved}


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
    for key, label in LABELS.items():
        part = facts[key]
        where = part["path"] or "not assembled"
        print(f"  {label}: {part['entries']} entries, {format_bytes(part['bytes'], binary=True)} "
              f"({where}); bound: {part['bound']}")
        if key == "states":
            _print_states(part)
        if key == "repos":
            for c in part["checkouts"]:
                print(f"    {c['name']}: {c['origin']}, {format_bytes(c['bytes'], binary=True)}, "
                      f"last refreshed {c['used']}")
    return 0


def _print_states(part: dict[str, Any]) -> None:
    cap = part["cap_bytes"]
    limit = f"at most {format_bytes(cap, binary=True)}" if cap > 0 else "saving off"
    print(f"    {limit} ({part['cap_setting']}), least recently used evicted first")
    for s in part["saved"]:
        print(f"    {s['model']}: {s['tokens']:,} tokens, {s['checkpoints']} checkpoints, "
              f"{format_bytes(s['bytes'], binary=True)}, context {s['n_ctx']}, "
              f"last used {s['last_used']}")


def run_clear(args: argparse.Namespace) -> int:
    from repoctx.config import cache_dir

    directory = cache_dir()
    named = [key for key in ("scan", "states", "reviews", "ranks", "repos", "cochange", "fallback")
             if getattr(args, key)]
    if named == ["fallback"]:
        removed = stores.FALLBACK.clear()
        print(f"repoctx: removed {format_bytes(removed, binary=True)} (fallback model)",
              file=sys.stderr)
        return 0
    chosen = [stores.BY_KEY[k] for k in named] or [s for s in stores.ALL if s.cleared]
    if args.scan:  # packs are made from the scan's facts: they go with them
        chosen.append(stores.PACKS)
    removed = sum(store.clear(directory) for store in chosen)
    print(f"repoctx: removed {format_bytes(removed, binary=True)} from {directory}",
          file=sys.stderr)
    return 0
