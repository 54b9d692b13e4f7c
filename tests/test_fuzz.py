"""Fuzzing in CI: the import resolvers, the skeleton extractor and the packer on generated
input (tests/fuzz_targets.py). Bounded and derandomized so every run sees the same examples
in seconds; bench/fuzz.py runs the same targets for as long as you like, with hypothesis or
atheris.

Extends tests/test_parse_properties.py (arbitrary bytes, mutated and truncated samples) with
per-language token soup and determinism, and tests/test_pack.py's property test with secrets,
control tokens, fence closers and odd file names.
"""

from __future__ import annotations

from fuzz_targets import (
    check_pack,
    check_resolve,
    pack_repos,
    resolve_cases,
    token_soup,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parse_properties import GRAMMAR_LANGUAGES, _check

from repoctx.packing.render import FORMATS
from repoctx.parsing.parse import parse_source
from repoctx.types import ImportRef

CI = settings(deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip


def ci(examples: int) -> settings:
    return settings(CI, max_examples=examples)


@ci(60)
@given(resolve_cases())
def test_resolvers_on_generated_paths_specifiers_and_configs(
    case: tuple[dict[str, str], dict[str, list[ImportRef]]],
) -> None:
    check_resolve(*case)


@ci(120)
@given(st.sampled_from(GRAMMAR_LANGUAGES).flatmap(lambda lang: st.tuples(st.just(lang),
                                                                        token_soup(lang))))
def test_skeleton_extractor_on_token_soup(case: tuple[str, bytes]) -> None:
    language, source = case
    first = _check(language, source)
    assert parse_source(language, source) == first  # the same bytes, the same facts


@ci(25)
@given(files=pack_repos(), budget=st.integers(300, 8000), fmt=st.sampled_from(FORMATS))
def test_packer_on_hostile_generated_repos(files: dict[str, str], budget: int, fmt: str) -> None:
    check_pack(files, budget, fmt)


# Found by bench/fuzz.py (kept as fixed examples): a tsconfig whose "extends" is neither a
# string nor a list raised TypeError and stopped the whole scan; a PHP reference whose
# module expands to no name but carries group names raised IndexError.
def test_tsconfig_extends_of_any_json_type() -> None:
    for extends in ("1", "true", "null", '{"a": "./b"}', '["./base", 3]'):
        texts = {"tsconfig.json": f'{{"extends": {extends}}}', "src/a.ts": "", "src/b.ts": ""}
        refs = {"src/a.ts": [ImportRef("./b", "import", 1)], "src/b.ts": []}
        check_resolve({**texts}, {**refs, "tsconfig.json": []})


def test_php_reference_without_a_name_but_with_group_names() -> None:
    refs = {"a.php": [ImportRef("{", "use", 1, names=("",))], "b.php": []}
    check_resolve({"a.php": "", "b.php": ""}, refs)
