"""Resolver edge cases per language, on small repos written into tmp dirs with hand refs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repoctx.graph.build import build_graph
from repoctx.graph.resolve.base import join, loads_lenient_json
from repoctx.graph.resolve.rust import expand_use_tree
from repoctx.parsing.languages import language_for_path
from repoctx.types import EdgeKind, ImportRef, ParsedFile

Triple = tuple[str, str, EdgeKind]


def edges(root: Path, files: dict[str, str], refs: dict[str, list[ImportRef]]) -> set[Triple]:
    """Write ``files``, attach ``refs`` to their importers, return the graph's edge triples."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    languages = {rel: language_for_path(rel) for rel in files}
    parsed = {
        rel: ParsedFile(lang, tuple(refs.get(rel, ())))
        for rel, lang in languages.items()
        if lang is not None
    }
    graph = build_graph(root, languages, parsed)
    return {(e.source, e.target, e.kind) for e in graph.edges}


def imp(module: str, kind: EdgeKind = "import", names: tuple[str, ...] = (),
        system: bool = False) -> ImportRef:
    return ImportRef(module, kind, 1, names, "module", system)


# --- shared helpers ---------------------------------------------------------------------

def test_lenient_json_reads_tsconfig_style_and_rejects_garbage() -> None:
    text = '{\n // c\n "a": "http://x//y", /* b */ "b": [1, 2,],\n "c": "/* no */",\n}'
    assert loads_lenient_json(text) == {"a": "http://x//y", "b": [1, 2], "c": "/* no */"}
    assert loads_lenient_json('{"a": 1') is None
    assert loads_lenient_json("") is None


def test_join_normalises_and_refuses_to_leave_the_repo() -> None:
    assert join("a/b", "../c/./d") == "a/c/d"
    assert join("", "x/") == "x"
    assert join("a", "../../x") is None


# --- Python -----------------------------------------------------------------------------

def test_python_stub_only_module_and_prefix_fallback(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/fast.pyi": "", "pkg/mod.py": "", "main.py": ""}
    refs = {"main.py": [imp("pkg.fast"), imp("pkg.mod.Klass"), imp("pkg.nothere")]}
    assert edges(tmp_path, files, refs) == {
        ("main.py", "pkg/fast.pyi", "import"),
        ("main.py", "pkg/mod.py", "import"),
        ("main.py", "pkg/__init__.py", "import"),
    }


def test_python_relative_import_above_the_repo_leads_nowhere(tmp_path: Path) -> None:
    files = {"a/__init__.py": "", "a/b.py": "", "top.py": "", "a/c.py": ""}
    refs = {"a/b.py": [imp("...x", names=("y",)), imp(".", names=("c",))],
            "top.py": [imp(".", names=("a",)), imp("..", names=("a",))]}
    assert edges(tmp_path, files, refs) == {
        ("a/b.py", "a/c.py", "import"), ("top.py", "a/__init__.py", "import"),
    }


def test_python_prefers_the_importers_own_root(tmp_path: Path) -> None:
    files = {
        "svc_a/pyproject.toml": "", "svc_a/common/__init__.py": "", "svc_a/app.py": "",
        "svc_b/pyproject.toml": "", "svc_b/common/__init__.py": "", "svc_b/app.py": "",
    }
    refs = {"svc_a/app.py": [imp("common")], "svc_b/app.py": [imp("common")]}
    assert edges(tmp_path, files, refs) == {
        ("svc_a/app.py", "svc_a/common/__init__.py", "import"),
        ("svc_b/app.py", "svc_b/common/__init__.py", "import"),
    }


def test_python_scope_refines_plain_imports(tmp_path: Path) -> None:
    files = {"a.py": "", "b.py": "", "c.py": "", "d.py": ""}
    refs = {"a.py": [ImportRef("b", "import", 1, scope="function"),
                     ImportRef("c", "import", 2, scope="type-checking"),
                     ImportRef("d", "lazy", 3, scope="type-checking")]}
    assert edges(tmp_path, files, refs) == {
        ("a.py", "b.py", "lazy"), ("a.py", "c.py", "type"), ("a.py", "d.py", "type"),
    }


# --- JavaScript / TypeScript ----------------------------------------------------------------

def test_js_extension_mapping_index_and_package_dirs(tmp_path: Path) -> None:
    files = {
        "src/a.ts": "", "src/b.mts": "", "src/c/index.tsx": "", "src/d.js": "",
        "src/lib/package.json": json.dumps({"main": "./entry.js"}), "src/lib/entry.js": "",
        "src/main.ts": "", "src/style.css": "",
    }
    refs = {"src/main.ts": [
        imp("./a.js"), imp("./b.mjs"), imp("./c"), imp("./d"), imp("./lib"),
        imp("./style.css"), imp("./missing"), imp("fs"), imp("node:path"),
        imp("./a?raw"),
    ]}
    assert edges(tmp_path, files, refs) == {
        ("src/main.ts", t, "import")
        for t in ("src/a.ts", "src/b.mts", "src/c/index.tsx", "src/d.js", "src/lib/entry.js",
                  "src/style.css")
    }


def test_js_importer_language_decides_the_extension_order(tmp_path: Path) -> None:
    files = {"x.js": "", "x.ts": "", "a.js": "", "b.ts": ""}
    refs = {"a.js": [imp("./x")], "b.ts": [imp("./x")]}
    assert edges(tmp_path, files, refs) == {("a.js", "x.js", "import"), ("b.ts", "x.ts", "import")}


def test_tsconfig_paths_without_baseurl_extends_list_and_broken_config(tmp_path: Path) -> None:
    files = {
        "configs/paths.json": '{"compilerOptions": {"paths": {"~/*": ["../src/*"]}}}',
        "configs/other.json": '{"compilerOptions": {"strict": true,}}',
        "tsconfig.json": '// root\n{"extends": ["./configs/paths.json", "./configs/other"]}',
        "src/util.ts": "", "src/app.ts": "",
        "broken/tsconfig.json": '{"compilerOptions": {"paths": ',
        "broken/x.ts": "", "broken/y.ts": "",
    }
    refs = {"src/app.ts": [imp("~/util"), imp("@types/node")],
            "broken/x.ts": [imp("./y"), imp("~/util")]}
    assert edges(tmp_path, files, refs) == {
        ("src/app.ts", "src/util.ts", "import"), ("broken/x.ts", "broken/y.ts", "import"),
    }


def test_tsconfig_longest_prefix_pattern_wins_and_fallbacks_are_tried(tmp_path: Path) -> None:
    files = {
        "tsconfig.json": json.dumps({"compilerOptions": {"baseUrl": "./src", "paths": {
            "@/*": ["gen/*", "./*"], "@/ui/*": ["../ui/*"]}}}),
        "src/x.ts": "", "src/a.ts": "", "ui/button.ts": "", "src/ui/button.ts": "",
        "src/models/user.ts": "",
    }
    refs = {"src/x.ts": [imp("@/a"), imp("@/ui/button"), imp("models/user")]}
    assert edges(tmp_path, files, refs) == {
        ("src/x.ts", "src/a.ts", "import"), ("src/x.ts", "ui/button.ts", "import"),
        ("src/x.ts", "src/models/user.ts", "import"),
    }


def test_js_exports_patterns_imports_field_and_conditions(tmp_path: Path) -> None:
    pkg = {
        "name": "@x/lib",
        "exports": {
            ".": {"types": "./types/index.d.ts", "require": "./cjs/index.cjs",
                  "import": "./esm/index.js"},
            "./feature/*": "./features/*.js",
            "./feature/internal/*": None,
        },
        "imports": {"#dep": {"node": "./shim/node.js", "default": "./shim/web.js"}},
    }
    files = {
        "lib/package.json": json.dumps(pkg), "lib/types/index.d.ts": "",
        "lib/cjs/index.cjs": "", "lib/esm/index.js": "", "lib/features/a.js": "",
        "lib/shim/node.js": "", "lib/shim/web.js": "",
        "app/main.ts": "", "app/main.js": "", "lib/inner.js": "",
    }
    refs = {
        "app/main.ts": [imp("@x/lib"), imp("@x/lib/feature/a"), imp("@x/lib/nope")],
        "app/main.js": [imp("@x/lib", "require"), imp("@x/lib")],
        "lib/inner.js": [imp("#dep")],
    }
    assert edges(tmp_path, files, refs) == {
        ("app/main.ts", "lib/types/index.d.ts", "import"),
        ("app/main.ts", "lib/features/a.js", "import"),
        ("app/main.js", "lib/cjs/index.cjs", "require"),
        ("app/main.js", "lib/esm/index.js", "import"),
        ("lib/inner.js", "lib/shim/node.js", "import"),
    }


def test_js_workspace_entry_in_unbuilt_dist_maps_to_sources(tmp_path: Path) -> None:
    files = {
        "package.json": json.dumps({"private": True, "workspaces": {"packages": ["pkgs/*"]}}),
        "pkgs/a/package.json": json.dumps({"name": "a", "main": "dist/index.js",
                                           "types": "dist/index.d.ts"}),
        "pkgs/a/src/index.ts": "", "pkgs/a/src/deep/x.ts": "",
        "examples/a/package.json": json.dumps({"name": "a", "main": "other.js"}),
        "examples/a/other.js": "",
        "pkgs/b/main.ts": "",
    }
    refs = {"pkgs/b/main.ts": [imp("a"), imp("a/deep/x")]}
    assert edges(tmp_path, files, refs) == {
        ("pkgs/b/main.ts", "pkgs/a/src/index.ts", "import"),
        ("pkgs/b/main.ts", "pkgs/a/src/deep/x.ts", "import"),
    }


def test_pnpm_workspace_yaml_marks_workspace_packages(tmp_path: Path) -> None:
    files = {
        "pnpm-workspace.yaml": "packages:\n  - 'libs/*'\n  - '!libs/skip'\n",
        "aaa/package.json": json.dumps({"name": "dup", "main": "x.js"}), "aaa/x.js": "",
        "libs/dup/package.json": json.dumps({"name": "dup", "main": "y.js"}),
        "libs/dup/y.js": "", "main.js": "",
    }
    assert edges(tmp_path, files, {"main.js": [imp("dup")]}) == {
        ("main.js", "libs/dup/y.js", "import")}


# --- Go -----------------------------------------------------------------------------------

def test_go_replace_directive_vendor_and_tests(tmp_path: Path) -> None:
    files = {
        "go.mod": "module example.com/m\n\nrequire example.com/dep v1.0.0\n"
                  "replace example.com/dep => ./third/dep // local fork\n",
        "third/dep/dep.go": "", "third/dep/dep_test.go": "",
        "vendor/github.com/x/y/y.go": "", "main.go": "", "doc/readme.go.txt": "",
    }
    refs = {"main.go": [imp("example.com/dep"), imp("github.com/x/y"), imp("github.com/x/z")]}
    assert edges(tmp_path, files, refs) == {
        ("main.go", "third/dep/dep.go", "import"),
        ("main.go", "vendor/github.com/x/y/y.go", "import"),
    }


# --- Rust ---------------------------------------------------------------------------------

def test_rust_use_tree_expansion() -> None:
    assert expand_use_tree("crate::a::{self, b, c::{d, e as f}, *}") == [
        ["crate", "a"], ["crate", "a", "b"], ["crate", "a", "c", "d"], ["crate", "a", "c", "e"],
        ["crate", "a"],
    ]
    assert expand_use_tree("::std::io") == [["std", "io"]]
    assert expand_use_tree("self") == [["self"]]


def test_rust_inline_modules_path_attributes_and_declared_test_crates(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "r"\n[[test]]\nname = "it"\npath = "tests/main.rs"\n',
        "src/lib.rs": "", "src/net/mod.rs": "", "src/net/unix.rs": "", "src/net/win.rs": "",
        "src/net/tcp.rs": (
            "use super::unix;\n"
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::win;\n"
            "    fn f() { let _ = \"}\"; }\n    use self::inner::X;\n}\n"
        ),
        "src/sys.rs": '#[cfg(unix)]\n#[path = "net/unix.rs"] // the unix one\nmod imp;\n',
        "tests/main.rs": "", "tests/util.rs": "", "tests/cases.rs": "",
    }
    refs = {
        "src/net/tcp.rs": [ImportRef("super::unix", "import", 1),
                           ImportRef("super::*", "import", 5),
                           ImportRef("super::super::win", "import", 6),
                           ImportRef("self::inner::X", "import", 8)],
        "src/sys.rs": [ImportRef("imp", "mod", 3)],
        "tests/cases.rs": [imp("crate::util::Dir")],
    }
    assert edges(tmp_path, files, refs) == {
        ("src/net/tcp.rs", "src/net/unix.rs", "import"),
        ("src/net/tcp.rs", "src/net/win.rs", "import"),
        ("src/sys.rs", "src/net/unix.rs", "mod"),
        ("tests/cases.rs", "tests/util.rs", "import"),
    }


def test_rust_path_attribute_bins_and_super_out_of_crate(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "tool"\n[lib]\npath = "src/lib.rs"\n',
        "src/lib.rs": "", "src/gen_impl.rs": "", "src/a.rs": "", "src/a/inner.rs": "",
        "src/bin/cli.rs": "", "src/bin/helper.rs": "",
        "tests/it.rs": "", "tests/common/mod.rs": "",
    }
    refs = {
        "src/lib.rs": [imp("gen_impl.rs", "mod"), imp("a", "mod")],
        "src/a.rs": [imp("inner", "mod"), imp("super::super::x")],
        "src/a/inner.rs": [imp("super::super::a")],
        "src/bin/cli.rs": [imp("helper", "mod"), imp("tool::a::inner::Thing")],
        "tests/it.rs": [imp("common", "mod"), imp("tool")],
    }
    assert edges(tmp_path, files, refs) == {
        ("src/lib.rs", "src/gen_impl.rs", "mod"), ("src/lib.rs", "src/a.rs", "mod"),
        ("src/a.rs", "src/a/inner.rs", "mod"),
        ("src/a/inner.rs", "src/a.rs", "import"),
        ("src/bin/cli.rs", "src/bin/helper.rs", "mod"),
        ("src/bin/cli.rs", "src/a/inner.rs", "import"),
        ("tests/it.rs", "tests/common/mod.rs", "mod"), ("tests/it.rs", "src/lib.rs", "import"),
    }


# --- Java / Kotlin ------------------------------------------------------------------------

def test_jvm_static_wildcard_on_a_class_and_package_from_path(tmp_path: Path) -> None:
    files = {
        "src/main/java/a/Consts.java": "package a;\nclass Consts {}\n",
        "src/main/java/b/NoPackageLine.java": "class NoPackageLine {}\n",
        "src/main/java/c/Main.java": "package c;\n",
    }
    refs = {"src/main/java/c/Main.java": [
        imp("a.Consts", "use", ("*",)), imp("b.NoPackageLine", "use"), imp("a", "use", ("*",)),
        imp("java.util", "use", ("*",)),
    ]}
    assert edges(tmp_path, files, refs) == {
        ("src/main/java/c/Main.java", "src/main/java/a/Consts.java", "use"),
        ("src/main/java/c/Main.java", "src/main/java/b/NoPackageLine.java", "use"),
    }


# --- C / C++ ------------------------------------------------------------------------------

def test_c_compile_commands_absolute_dirs_and_angle_includes(tmp_path: Path) -> None:
    cc = [{"directory": str(tmp_path / "build"), "file": "../x.c",
           "arguments": ["cc", "-I", str(tmp_path / "third/inc"), "-iquote../gen", "-c"]},
          {"directory": "/elsewhere", "command": "cc -I/usr/include -c y.c"}]
    files = {
        "build/compile_commands.json": json.dumps(cc), "build/.keep": "",
        "third/inc/t.h": "", "gen/g.h": "", "x.c": "", "local.h": "", "sub/local.h": "",
    }
    refs = {"x.c": [imp("t.h", "include", system=True), imp("g.h", "include"),
                    imp("local.h", "include", system=True), imp("stdio.h", "include", True)]}
    assert edges(tmp_path, files, refs) == {
        ("x.c", "third/inc/t.h", "include"), ("x.c", "gen/g.h", "include"),
        ("x.c", "local.h", "include"),  # the repo root is on the include path
    }


def test_c_suffix_fallback_takes_the_nearest_header(tmp_path: Path) -> None:
    files = {"mod_a/deep/config.h": "", "mod_b/config.h": "", "mod_b/src/x.c": ""}
    refs = {"mod_b/src/x.c": [imp("config.h", "include"), imp("deep/config.h", "include")]}
    assert edges(tmp_path, files, refs) == {
        ("mod_b/src/x.c", "mod_b/config.h", "include"),
        ("mod_b/src/x.c", "mod_a/deep/config.h", "include"),
    }


# --- C# -----------------------------------------------------------------------------------

def test_csharp_block_and_file_scoped_namespaces_aliases(tmp_path: Path) -> None:
    files = {
        "A.cs": "namespace Co.Core\n{\n  class A {}\n}\n",
        "B.cs": "namespace Co.Core;\nclass B {}\n",
        "List.cs": "namespace Co.Col;\nclass List {}\n",
        "Main.cs": "",
    }
    refs = {"Main.cs": [imp("global::Co.Core", "use"), imp("L = Co.Col.List<int>", "use"),
                        imp("System.Text", "use"), imp("N = Co.Core.B.Nested", "use")]}
    assert edges(tmp_path, files, refs) == {
        ("Main.cs", "A.cs", "use"), ("Main.cs", "B.cs", "use"), ("Main.cs", "List.cs", "use"),
    }


# --- Ruby ---------------------------------------------------------------------------------

def test_ruby_gem_spec_and_test_dirs_are_on_the_load_path(tmp_path: Path) -> None:
    files = {"gems/g/g.gemspec": "", "gems/g/spec/spec_helper.rb": "",
             "gems/g/spec/unit/a_spec.rb": "", "gems/g/lib/g.rb": ""}
    refs = {"gems/g/spec/unit/a_spec.rb": [imp("spec_helper", "require"), imp("g", "require")]}
    assert edges(tmp_path, files, refs) == {
        ("gems/g/spec/unit/a_spec.rb", "gems/g/spec/spec_helper.rb", "require"),
        ("gems/g/spec/unit/a_spec.rb", "gems/g/lib/g.rb", "require"),
    }


def test_ruby_nearest_lib_wins_and_require_never_searches_the_file_dir(tmp_path: Path) -> None:
    files = {
        "gems/a/lib/util.rb": "", "gems/a/lib/a.rb": "", "gems/b/lib/util.rb": "",
        "gems/b/lib/b.rb": "", "gems/b/lib/sibling.rb": "",
    }
    refs = {"gems/a/lib/a.rb": [imp("util", "require")],
            "gems/b/lib/b.rb": [imp("util", "require"), imp("./sibling", "require")]}
    assert edges(tmp_path, files, refs) == {
        ("gems/a/lib/a.rb", "gems/a/lib/util.rb", "require"),
        ("gems/b/lib/b.rb", "gems/b/lib/util.rb", "require"),
        ("gems/b/lib/b.rb", "gems/b/lib/sibling.rb", "require"),
    }


# --- PHP ----------------------------------------------------------------------------------

def test_php_psr0_group_use_functions_and_root_relative_includes(tmp_path: Path) -> None:
    composer = {"autoload": {"psr-0": {"Old_": "legacy/"}, "psr-4": {"": "fallback/"}}}
    files = {
        "composer.json": json.dumps(composer),
        "legacy/Old/Thing/Part.php": "", "fallback/Free.php": "",
        "lib/Fn.php": "<?php\nnamespace Lib;\nfunction helper() {}\n",
        "src/Main.php": "", "config/app.php": "",
    }
    refs = {"src/Main.php": [
        imp("Old_Thing_Part", "use"), imp("\\Free", "use"), imp("Lib\\{Fn, Nope}", "use"),
        imp("config/app.php", "require"),
    ]}
    assert edges(tmp_path, files, refs) == {
        ("src/Main.php", "legacy/Old/Thing/Part.php", "use"),
        ("src/Main.php", "fallback/Free.php", "use"),
        ("src/Main.php", "lib/Fn.php", "use"),
        ("src/Main.php", "config/app.php", "require"),
    }


@pytest.mark.parametrize("bad", ["{", "[]", '{"autoload": {"psr-4": {"A\\\\": 3}}}', "\x00"])
def test_malformed_project_configs_never_raise(tmp_path: Path, bad: str) -> None:
    files = {
        "composer.json": bad, "package.json": bad, "tsconfig.json": bad, "Cargo.toml": bad,
        "go.mod": bad, "compile_commands.json": bad,
        "a.php": "", "a.ts": "", "a.rs": "", "a.go": "", "a.c": "", "b.ts": "",
    }
    refs = {"a.php": [imp("A\\B", "use")], "a.ts": [imp("./b"), imp("x")],
            "a.rs": [imp("crate::x")], "a.go": [imp("m/x")], "a.c": [imp("x.h", "include")]}
    assert edges(tmp_path, files, refs) == {("a.ts", "b.ts", "import")}


def test_only_top_level_definitions_name_classes(tmp_path: Path) -> None:
    """A nested ``Role.Kind`` must not shadow the package's own top-level ``Kind.java``."""
    from repoctx.graph.build import build_graph as build
    from repoctx.types import Definition

    texts = {"p/Role.java": "package p;\nclass Role { enum Kind {} }\n",
             "p/Kind.java": "package p;\nenum Kind {}\n",
             "p/Util.java": "package p;\nclass Util {}\nclass Extra {}\n",
             "q/Main.java": "package q;\n"}
    for rel, text in texts.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    parsed = {
        "p/Role.java": ParsedFile("java", (), (Definition("class", "Role", 2, 2),
                                               Definition("enum", "Kind", 2, 2))),
        "p/Kind.java": ParsedFile("java", (), (Definition("enum", "Kind", 2, 2),)),
        "p/Util.java": ParsedFile("java", (), (Definition("class", "Util", 2, 2),
                                               Definition("class", "Extra", 3, 3))),
        "q/Main.java": ParsedFile("java", (imp("p.Kind", "use"), imp("p.Role.Kind", "use"),
                                           imp("p.Extra", "use"))),
    }
    graph = build(tmp_path, dict.fromkeys(texts, "java"), parsed)
    assert {(e.source, e.target) for e in graph.edges} == {
        ("q/Main.java", "p/Kind.java"), ("q/Main.java", "p/Role.java"),
        ("q/Main.java", "p/Util.java"),
    }


def test_top_level_names_see_through_namespaces() -> None:
    from repoctx.graph.resolve.base import top_level_names
    from repoctx.types import Definition

    parsed = ParsedFile("csharp", (), (
        Definition("namespace", "A.B", 1, 20), Definition("class", "Outer", 2, 10),
        Definition("class", "Inner", 3, 5), Definition("method", "M", 6, 8),
        Definition("struct", "S", 11, 12), Definition("method", "Free", 13, 14),
    ))
    kinds = frozenset({"class", "struct"})
    assert top_level_names(parsed, kinds) == ["Outer", "S"]
    assert top_level_names(None, kinds) == []


def test_kotlin_file_facades_and_top_level_functions(tmp_path: Path) -> None:
    files = {
        "src/main/kotlin/o/JvmOkio.kt": '@file:JvmName("Okio")\npackage o\n\nfun sink() = 1\n',
        "src/main/kotlin/o/Strings.kt": "package o\n\ninternal fun String.shout() = this\n",
        "src/main/java/app/Main.java": "package app;\n",
        "src/main/kotlin/app/Use.kt": "package app\n",
    }
    refs = {"src/main/java/app/Main.java": [imp("o.Okio", "use")],
            "src/main/kotlin/app/Use.kt": [imp("o.shout", "use"), imp("o.sink", "use")]}
    assert edges(tmp_path, files, refs) == {
        ("src/main/java/app/Main.java", "src/main/kotlin/o/JvmOkio.kt", "use"),
        ("src/main/kotlin/app/Use.kt", "src/main/kotlin/o/Strings.kt", "use"),
        ("src/main/kotlin/app/Use.kt", "src/main/kotlin/o/JvmOkio.kt", "use"),
    }
