"""Imports per language: exact ImportRefs for small samples (resolve/ reads these as-is)."""

from __future__ import annotations

import textwrap

import pytest

from repoctx.parsing.parse import parse_source
from repoctx.types import ImportRef

R = ImportRef
CASES: dict[str, tuple[str, str, tuple[ImportRef, ...]]] = {
    "python": ("python", """
        import a.b.c
        import a as b, d
        from . import x
        from ..pkg import y, z as w
        from pkg.sub import *
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from foo import Bar
        if typing.TYPE_CHECKING:
            import baz
        def f():
            import lazy
            m = importlib.import_module("dyn")
            return lambda: __import__('d2')
        """, (
        R("a.b.c", "import", 1),
        R("a", "import", 2),
        R("d", "import", 2),
        R(".", "import", 3, ("x",)),
        R("..pkg", "import", 4, ("y", "z")),
        R("pkg.sub", "import", 5, ("*",)),
        R("typing", "import", 6, ("TYPE_CHECKING",)),
        R("foo", "type", 8, ("Bar",), "type-checking"),
        R("baz", "type", 10, (), "type-checking"),
        R("lazy", "lazy", 12, (), "function"),
        R("dyn", "dynamic", 13, (), "function"),
        R("d2", "dynamic", 14, (), "function"),
    )),
    "python-multiline": ("python", """
        from .models import (
            User,
            Group as G,
        )
        class A:
            def m(self):
                from . import sibling
        """, (
        R(".models", "import", 1, ("User", "Group")),
        R(".", "lazy", 7, ("sibling",), "function"),
    )),
    "javascript": ("javascript", """
        import a, {b} from "./a.js";
        import * as ns from "ns";
        import "side";
        export * from "./all";
        export {x as y} from './x';
        const m = require("m");
        const n = await import(`./n`);
        function f() { const z = require('z'); }
        const g = () => import("./g");
        const skipped = require(`./${name}`);
        """, (
        R("./a.js", "import", 1),
        R("ns", "import", 2),
        R("side", "import", 3),
        R("./all", "re-export", 4),
        R("./x", "re-export", 5),
        R("m", "require", 6),
        R("./n", "dynamic", 7),
        R("z", "require", 8, (), "function"),
        R("./g", "dynamic", 9, (), "function"),
    )),
    "typescript": ("typescript", """
        import def from "./a";
        import type {T} from "./types";
        import {type U, V} from "./uv";
        export * as all from "./all";
        export type {F} from "./f";
        import x = require("y");
        export async function load() { return import("./lazy"); }
        """, (
        R("./a", "import", 1),
        R("./types", "type", 2),
        R("./uv", "import", 3),
        R("./all", "re-export", 4),
        R("./f", "type", 5),
        R("y", "import", 6),
        R("./lazy", "dynamic", 7, (), "function"),
    )),
    "tsx": ("tsx", """
        import React from "react";
        import type {Props} from "./props";
        export const App = () => <div>{require("./x")}</div>;
        """, (
        R("react", "import", 1),
        R("./props", "type", 2),
        R("./x", "require", 3, (), "function"),
    )),
    "go": ("go", """
        package main
        import "fmt"
        import (
            f "os"
            _ "embed"
            . "strings"
            "net/http"
        )
        """, (
        R("fmt", "import", 2),
        R("os", "import", 4),
        R("embed", "import", 5),
        R("strings", "import", 6),
        R("net/http", "import", 7),
    )),
    "rust": ("rust", """
        mod x;
        pub mod y;
        mod inline { fn a() {} }
        use crate::a::b;
        use super::x;
        use self::y as z;
        use crate::a::{b, c};
        extern crate foo;
        pub use crate::q::R;
        pub(crate) use r as s;
        """, (
        R("x", "mod", 1),
        R("y", "mod", 2),
        R("crate::a::b", "import", 4),
        R("super::x", "import", 5),
        R("self::y", "import", 6),
        R("crate::a::{b, c}", "import", 7),
        R("foo", "import", 8),
        R("crate::q::R", "re-export", 9),
        R("r", "re-export", 10),
    )),
    "java": ("java", """
        package p;
        import a.b.C;
        import static a.b.C.m;
        import a.b.*;
        import static a.b.C.*;
        class K {}
        """, (
        R("a.b.C", "use", 2),
        R("a.b.C", "use", 3, ("m",)),
        R("a.b", "use", 4, ("*",)),
        R("a.b.C", "use", 5, ("*",)),
    )),
    "kotlin": ("kotlin", """
        package x.y
        import a.b.C
        import a.b.C as D
        import a.b.*
        """, (
        R("a.b.C", "use", 2),
        R("a.b.C", "use", 3),
        R("a.b", "use", 4, ("*",)),
    )),
    "c": ("c", """
        #include "x.h"
        #include <stdio.h>
        #ifndef GUARD
        #include "sub/y.h"
        #endif
        #include MACRO
        """, (
        R("x.h", "include", 1),
        R("stdio.h", "include", 2, system=True),
        R("sub/y.h", "include", 4),
    )),
    "cpp": ("cpp", """
        #include "x.hpp"
        #include <vector>
        namespace n { int f(); }
        """, (
        R("x.hpp", "include", 1),
        R("vector", "include", 2, system=True),
    )),
    "csharp": ("csharp", """
        using A.B;
        using static A.B.C;
        using X = A.B;
        global using D;
        namespace N { using E.F; }
        """, (
        R("A.B", "use", 1),
        R("A.B.C", "use", 2),
        R("A.B", "use", 3),
        R("D", "use", 4),
        R("E.F", "use", 5),
    )),
    "ruby": ("ruby", """
        require "json"
        require_relative '../lib/x'
        require_relative 'sibling'
        require "a#{x}"
        def f
          require "lazy"
        end
        load "tasks.rb"
        autoload :Client, "acme/client"
        """, (
        R("json", "require", 1),
        R("../lib/x", "require", 2),
        R("./sibling", "require", 3),
        R("lazy", "require", 6, (), "function"),
        R("tasks.rb", "require", 8),
        R("acme/client", "lazy", 9),
    )),
    "php": ("php", r"""
        <?php
        namespace App;
        use A\B\C;
        use A\B\D as E;
        use A\{B, C\D as E};
        use function A\f;
        require 'x.php';
        require_once "y.php";
        include __DIR__ . '/z.php';
        include_once "$dir/w.php";
        function g() { require 'in.php'; }
        """, (
        R("A\\B\\C", "use", 3),
        R("A\\B\\D", "use", 4),
        R("A", "use", 5, ("B", "C\\D")),
        R("A\\f", "use", 6),
        R("x.php", "require", 7),
        R("y.php", "require", 8),
        R("./z.php", "include", 9),
        R("in.php", "require", 11, (), "function"),
    )),
    "scala": ("scala", """
        package x.y
        import a.b.C
        import a.b.{C, D => E}
        import a.b._
        """, (
        R("a.b.C", "use", 2),
        R("a.b", "use", 3, ("C", "D")),
        R("a.b", "use", 4, ("_",)),
    )),
    "swift": ("swift", """
        import Foundation
        @testable import MyApp
        import struct Foo.Bar
        """, (
        R("Foundation", "import", 1),
        R("MyApp", "import", 2),
        R("Foo.Bar", "import", 3),
    )),
    "bash": ("bash", """
        source ./lib.sh arg
        . "$DIR/x.sh"
        . 'y.sh'
        f() { source inner.sh; }
        """, (
        R("./lib.sh", "include", 1),
        R("y.sh", "include", 3),
        R("inner.sh", "include", 4, (), "function"),
    )),
    "lua": ("lua", """
        local x = require("a.b")
        local y = require "c"
        local function f() return require('e') end
        """, (
        R("a.b", "require", 1),
        R("c", "require", 2),
        R("e", "require", 3, (), "function"),
    )),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_imports(case: str) -> None:
    language, source, expected = CASES[case]
    parsed = parse_source(language, textwrap.dedent(source).lstrip("\n").encode())
    assert parsed.error is None
    assert parsed.imports == expected


def test_every_parsed_language_has_an_import_case() -> None:
    from repoctx.parsing.languages import LANGUAGES

    with_grammar = {lang.name for lang in LANGUAGES if lang.grammar_module}
    assert with_grammar <= {language for language, _, _ in CASES.values()}
