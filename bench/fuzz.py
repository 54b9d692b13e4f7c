"""Long fuzz runs over the resolvers, the skeleton extractor and the packer.

The targets and invariants are the ones CI runs briefly (tests/fuzz_targets.py,
tests/test_fuzz.py); here they run as long as you like:

    python bench/fuzz.py                                  # all targets, 2000 examples each
    python bench/fuzz.py --target pack --examples 500 --seed 7
    python bench/fuzz.py --target parse --atheris -- -max_total_time=600 -jobs=2

``--atheris`` (pip install atheris) drives the same hypothesis strategies from libFuzzer's
coverage-guided byte mutations (``fuzz_one_input``), with repoctx's modules instrumented; the
arguments after ``--`` go to libFuzzer. A failure prints the falsifying example (hypothesis)
or the crashing input and traceback (atheris) and exits non-zero.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"
TARGETS = ("resolve", "parse", "pack")


def build(target: str, examples: int, seed: int | None) -> Any:
    """The @given test for ``target`` with this run's settings."""
    from fuzz_targets import check_pack, check_resolve, pack_repos, resolve_cases, token_soup
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fix_seed
    from hypothesis import strategies as st
    from test_parse_properties import GRAMMAR_LANGUAGES, _check

    from repoctx.packing.render import FORMATS

    run = settings(max_examples=examples, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))  # fmt: skip
    def resolve(case: Any) -> None:
        check_resolve(*case)

    def parse(case: tuple[str, bytes]) -> None:
        _check(*case)

    def pack(files: dict[str, str], budget: int, fmt: str) -> None:
        check_pack(files, budget, fmt)

    test: Any
    if target == "resolve":
        test = given(resolve_cases())(resolve)
    elif target == "parse":
        test = given(st.sampled_from(GRAMMAR_LANGUAGES).flatmap(
            lambda lang: st.tuples(st.just(lang), st.one_of(token_soup(lang), st.binary()))
        ))(parse)  # fmt: skip
    else:
        test = given(pack_repos(), st.integers(300, 12000), st.sampled_from(FORMATS))(pack)
    test = run(test)
    return fix_seed(seed)(test) if seed is not None else test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="all")
    parser.add_argument("--examples", type=int, default=2000, help="per target (hypothesis)")
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided (one target)")
    args, rest = parser.parse_known_args(argv)
    sys.path.insert(0, str(TESTS))
    if args.atheris:
        return _atheris(args.target, [sys.argv[0], *[a for a in rest if a != "--"]])
    for target in TARGETS if args.target == "all" else (args.target,):
        began = time.monotonic()
        build(target, args.examples, args.seed)()
        print(f"{target}: {args.examples} examples, invariants held "
              f"({time.monotonic() - began:.0f} s)", flush=True)  # fmt: skip
    return 0


def _atheris(target: str, libfuzzer_args: list[str]) -> int:
    try:
        import atheris  # type: ignore[import-untyped]
    except ImportError:
        print("bench/fuzz.py: --atheris needs `pip install atheris`", file=sys.stderr)
        return 2
    if target == "all":
        print("bench/fuzz.py: --atheris fuzzes one --target at a time", file=sys.stderr)
        return 2
    import importlib
    import pkgutil

    with atheris.instrument_imports(include=["repoctx"]):  # coverage for what a target runs
        for module in ("repoctx.parsing.parse", "repoctx.packing.pack", "repoctx.packing.redact",
                       "repoctx.graph.build"):
            importlib.import_module(module)
        for info in pkgutil.iter_modules([str(TESTS.parent / "repoctx" / "graph" / "resolve")]):
            importlib.import_module(f"repoctx.graph.resolve.{info.name}")  # lazily otherwise
        test = build(target, 1, None)
    atheris.Setup(libfuzzer_args, test.hypothesis.fuzz_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
