"""Known import edges of the fixture repos under fixtures/graph/ (shared by the graph tests).

``EXPECTED`` is the truth for each fixture: the exact (source, target, kind) edge set and
the runtime import cycles a user expects. ``REFS`` is what a correct parser hands the
resolvers for each file (module, kind, names, scope, system), written by hand so the
resolvers are tested on their own; tests/test_graph_fixtures.py runs the real parser on the
same files.
"""

from __future__ import annotations

import os
from pathlib import Path

from repoctx.parsing.languages import language_for_path
from repoctx.types import EdgeKind, ImportRef, ImportScope, ParsedFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "graph"

Ref = tuple[str, EdgeKind] | tuple[str, EdgeKind, tuple[str, ...]] | tuple[
    str, EdgeKind, tuple[str, ...], ImportScope] | tuple[str, EdgeKind, tuple[str, ...],
                                                         ImportScope, bool]
EdgeSet = set[tuple[str, str, EdgeKind]]


def walk_fixture(name: str) -> dict[str, str | None]:
    """Every file of a fixture repo (hidden directories skipped) → its language."""
    root = FIXTURES / name
    files: dict[str, str | None] = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            rel = (Path(directory) / filename).relative_to(root).as_posix()
            files[rel] = language_for_path(rel)
    return files


def hand_parsed(name: str) -> dict[str, ParsedFile]:
    """ParsedFiles built from ``REFS`` (files without refs still count as parsed)."""
    files = walk_fixture(name)
    refs = REFS[name]
    parsed: dict[str, ParsedFile] = {}
    for path, language in files.items():
        if language is None:
            continue
        imports = tuple(_ref(spec, i + 1) for i, spec in enumerate(refs.get(path, [])))
        parsed[path] = ParsedFile(language=language, imports=imports)
    return parsed


def _ref(spec: Ref, line: int) -> ImportRef:
    module, kind = spec[0], spec[1]
    names = spec[2] if len(spec) > 2 else ()
    scope: ImportScope = spec[3] if len(spec) > 3 else "module"  # type: ignore[misc]
    system = spec[4] if len(spec) > 4 else False  # type: ignore[misc]
    return ImportRef(module, kind, line, names, scope, system)


J = "src/main/java/com/acme"
REFS: dict[str, dict[str, list[Ref]]] = {
    "python-pkg": {
        "app/__init__.py": [("app.core", "import", ("engine",))],
        "app/core/__init__.py": [(".engine", "import", ("Engine",))],
        "app/core/engine.py": [
            ("os", "import"), ("app.util.text", "import"),
            ("typing", "import", ("TYPE_CHECKING",)), (".", "import", ("plugins",)),
            ("app.models", "import", ("Model",), "type-checking"),
            ("app", "import", ("cli",), "function"),
        ],
        "app/core/plugins.py": [
            ("..util", "import", ("VERSION_TAG",)), (".engine", "import", ("Engine",)),
        ],
        "app/util/text.py": [("json", "import"), ("re", "import")],
        "app/cli.py": [
            ("app", "import", ("VERSION", "core", "util")),
            ("app.core.engine", "import", ("*",)), ("ns.plugin.extra", "import"),
        ],
        "ns/plugin/extra.py": [("app.core", "import")],
    },
    "python-monorepo": {
        "packages/alpha/src/alpha/api.py": [("beta", "import", ("tools",))],
        "packages/beta/setup.py": [("setuptools", "import", ("setup",))],
        "packages/beta/beta/tools.py": [("alpha.api", "lazy", ("call",), "function")],
        "scripts/run.py": [("alpha", "import", ("api",))],
        "checks/check_alpha.py": [("alpha.api", "import")],
    },
    "js-app": {
        "src/main.js": [
            ("node:fs", "import"), ("lodash", "import"), ("./lib/a.js", "import"),
            ("./util", "import"), ("js-app/src/lib/b.js", "import"),
            ("./config.json", "require"), ("./lazy.mjs", "dynamic", (), "function"),
        ],
        "src/lib/a.js": [("./b", "import")],
        "src/lib/b.js": [("./a.js", "import")],
        "src/util/index.js": [("./format.js", "re-export")],
    },
    "ts-paths": {
        "src/index.ts": [
            ("@/components/App", "import"), ("./types", "type"), ("@shared", "import"),
            ("src/utils/helper", "import"), ("./utils/helper.js", "re-export"),
        ],
        "src/components/App.tsx": [("./Button", "import"), ("../types", "type")],
        "src/components/Button.tsx": [("@/utils/helper", "import")],
        "src/shared/index.ts": [("../components/App", "import")],
    },
    "js-workspaces": {
        "packages/core/src/index.ts": [("./utils", "re-export")],
        "packages/web/src/main.ts": [
            ("@acme/core", "import"), ("@acme/core/utils", "import"), ("#lib/log", "import"),
        ],
    },
    "go-mod": {
        "main.go": [
            ("fmt", "import"), ("example.com/app/internal/store", "import"),
            ("example.com/extra", "import"),
        ],
        "internal/store/store.go": [("example.com/app/pkg/api", "import")],
        "internal/store/store_test.go": [
            ("testing", "import"), ("example.com/app/pkg/api", "import"),
        ],
    },
    "rust-workspace": {
        "crates/app/src/main.rs": [
            ("cli", "mod"), ("acme_core::model::User", "import"), ("std::io", "import"),
        ],
        "crates/core/src/lib.rs": [
            ("model", "mod"), ("util", "mod"), ("crate::model::{Group, User}", "re-export"),
        ],
        "crates/core/src/util.rs": [("crate::model::{self, group::Group}", "import")],
        "crates/core/src/model/group.rs": [("crate::model::User", "import")],
        "crates/core/src/model/mod.rs": [
            ("group", "mod"), ("self::group::Group", "re-export"),
            ("super::util::helper", "import"),
        ],
    },
    "jvm-maven": {
        f"{J}/App.java": [
            ("com.acme.model.User", "use"), ("com.acme.util", "use", ("*",)),
            ("com.acme.util.Strings", "use", ("join",)), ("java.util.List", "use"),
        ],
        f"{J}/model/User.java": [("com.acme.model.Role.Kind", "use")],
        f"{J}/model/Role.java": [("com.acme.model.User", "use")],
        f"{J}/util/Strings.java": [("java.util.List", "use")],
        "src/test/java/com/acme/AppTest.java": [("com.acme.App", "use")],
        "src/main/kotlin/com/acme/ext/Extensions.kt": [
            ("com.acme.model.User", "use"), ("com.acme.ext.helpers.shout", "use"),
            ("kotlin.collections.List", "use"),
        ],
    },
    "c-include": {
        "src/api.c": [
            ("stdio.h", "include", (), "module", True),
            ("acme/types.h", "include", (), "module", True),
            ("acme/api.h", "include"), ("internal.h", "include"),
        ],
        "src/internal.h": [("../include/acme/types.h", "include")],
        "include/acme/api.h": [("acme/types.h", "include")],
        "lib/widget/widget.cpp": [
            ("widget.hpp", "include"), ("impl.hpp", "include"),
            ("vector", "include", (), "module", True),
        ],
        "lib/widget/widget.hpp": [("string", "include", (), "module", True),
                                  ("gadget.h", "include")],
        "lib/widget/private/impl.hpp": [("widget.hpp", "include")],
    },
    "csharp-app": {
        "src/App/Program.cs": [
            ("System", "use"), ("Acme.Models", "use"), ("Acme.Util.Strings", "use"),
            ("Acme.Util.JsonHelper", "use"),
        ],
        "src/Models/User.cs": [("Acme.Util", "use")],
    },
    "ruby-gem": {
        "lib/acme.rb": [("acme/version", "require"), ("./acme/client", "require")],
        "lib/acme/client.rb": [("json", "require"), ("../acme", "require")],
        "test/test_helper.rb": [("minitest/autorun", "require"), ("acme", "require")],
        "test/client_test.rb": [("test_helper", "require"), ("../lib/acme/client", "require")],
    },
    "php-composer": {
        "src/Controller/UserController.php": [
            ("Acme\\Model\\User", "use"), ("Acme\\Service", "use", ("Mailer", "Logger", "Log")),
            ("./../helpers.php", "require"),
        ],
        "src/Model/User.php": [("Legacy\\Legacy", "use")],
        "src/Service/Mailer.php": [("Acme\\Model\\User", "use")],
        "tests/UserControllerTest.php": [("Acme\\Controller\\UserController", "use")],
    },
}

EXPECTED: dict[str, tuple[EdgeSet, list[list[str]]]] = {
    "python-pkg": (
        {
            ("app/__init__.py", "app/core/engine.py", "import"),
            ("app/core/__init__.py", "app/core/engine.py", "import"),
            ("app/core/engine.py", "app/util/text.py", "import"),
            ("app/core/engine.py", "app/core/plugins.py", "import"),
            ("app/core/engine.py", "app/models.py", "type"),
            ("app/core/engine.py", "app/cli.py", "lazy"),
            ("app/core/plugins.py", "app/util/__init__.py", "import"),
            ("app/core/plugins.py", "app/core/engine.py", "import"),
            ("app/cli.py", "app/__init__.py", "import"),
            ("app/cli.py", "app/core/__init__.py", "import"),
            ("app/cli.py", "app/util/__init__.py", "import"),
            ("app/cli.py", "app/core/engine.py", "import"),
            ("app/cli.py", "ns/plugin/extra.py", "import"),
            ("ns/plugin/extra.py", "app/core/__init__.py", "import"),
        },
        # engine's function-level import of cli would close a six-file "cycle": not a runtime one
        [["app/core/engine.py", "app/core/plugins.py"]],
    ),
    "python-monorepo": (
        {
            ("packages/alpha/src/alpha/api.py", "packages/beta/beta/tools.py", "import"),
            ("packages/beta/beta/tools.py", "packages/alpha/src/alpha/api.py", "lazy"),
            ("scripts/run.py", "packages/alpha/src/alpha/api.py", "import"),
            ("checks/check_alpha.py", "packages/alpha/src/alpha/api.py", "import"),
        },
        [],  # api ⇄ tools is closed by a function-level import: not a runtime cycle
    ),
    "js-app": (
        {
            ("src/main.js", "src/lib/a.js", "import"),
            ("src/main.js", "src/util/index.js", "import"),
            ("src/main.js", "src/lib/b.js", "import"),
            ("src/main.js", "src/config.json", "require"),
            ("src/main.js", "src/lazy.mjs", "dynamic"),
            ("src/lib/a.js", "src/lib/b.js", "import"),
            ("src/lib/b.js", "src/lib/a.js", "import"),
            ("src/util/index.js", "src/util/format.js", "re-export"),
        },
        [["src/lib/a.js", "src/lib/b.js"]],
    ),
    "ts-paths": (
        {
            ("src/index.ts", "src/components/App.tsx", "import"),
            ("src/index.ts", "src/types.d.ts", "type"),
            ("src/index.ts", "src/shared/index.ts", "import"),
            ("src/index.ts", "src/utils/helper.ts", "import"),  # import beats re-export
            ("src/components/App.tsx", "src/components/Button.tsx", "import"),
            ("src/components/App.tsx", "src/types.d.ts", "type"),
            ("src/components/Button.tsx", "src/utils/helper.ts", "import"),
            ("src/shared/index.ts", "src/components/App.tsx", "import"),
        },
        [],
    ),
    "js-workspaces": (
        {
            ("packages/core/src/index.ts", "packages/core/src/utils.ts", "re-export"),
            ("packages/web/src/main.ts", "packages/core/src/index.ts", "import"),
            ("packages/web/src/main.ts", "packages/core/src/utils.ts", "import"),
            ("packages/web/src/main.ts", "packages/web/src/lib/log.ts", "import"),
        },
        [],
    ),
    "go-mod": (
        {
            ("main.go", "internal/store/store.go", "import"),
            ("main.go", "internal/store/cache.go", "import"),
            ("main.go", "libs/extra/extra.go", "import"),
            ("internal/store/store.go", "pkg/api/api.go", "import"),
            ("internal/store/store_test.go", "pkg/api/api.go", "import"),
        },
        [],
    ),
    "rust-workspace": (
        {
            ("crates/app/src/main.rs", "crates/app/src/cli.rs", "mod"),
            ("crates/app/src/main.rs", "crates/core/src/model/mod.rs", "import"),
            ("crates/core/src/lib.rs", "crates/core/src/model/mod.rs", "re-export"),
            ("crates/core/src/lib.rs", "crates/core/src/util.rs", "mod"),
            ("crates/core/src/util.rs", "crates/core/src/model/mod.rs", "import"),
            ("crates/core/src/util.rs", "crates/core/src/model/group.rs", "import"),
            ("crates/core/src/model/group.rs", "crates/core/src/model/mod.rs", "import"),
            ("crates/core/src/model/mod.rs", "crates/core/src/model/group.rs", "re-export"),
            ("crates/core/src/model/mod.rs", "crates/core/src/util.rs", "import"),
        },
        [["crates/core/src/model/group.rs", "crates/core/src/model/mod.rs",
          "crates/core/src/util.rs"]],
    ),
    "jvm-maven": (
        {
            (f"{J}/App.java", f"{J}/model/User.java", "use"),
            (f"{J}/App.java", f"{J}/util/Numbers.java", "use"),
            (f"{J}/App.java", f"{J}/util/Strings.java", "use"),
            (f"{J}/model/User.java", f"{J}/model/Role.java", "use"),
            (f"{J}/model/Role.java", f"{J}/model/User.java", "use"),
            ("src/test/java/com/acme/AppTest.java", f"{J}/App.java", "use"),
            ("src/main/kotlin/com/acme/ext/Extensions.kt", f"{J}/model/User.java", "use"),
            ("src/main/kotlin/com/acme/ext/Extensions.kt",
             "src/main/kotlin/com/acme/ext/helpers/Helpers.kt", "use"),
        },
        [[f"{J}/model/Role.java", f"{J}/model/User.java"]],
    ),
    "c-include": (
        {
            ("src/api.c", "include/acme/types.h", "include"),
            ("src/api.c", "include/acme/api.h", "include"),
            ("src/api.c", "src/internal.h", "include"),
            ("src/internal.h", "include/acme/types.h", "include"),
            ("include/acme/api.h", "include/acme/types.h", "include"),
            ("lib/widget/widget.cpp", "lib/widget/widget.hpp", "include"),
            ("lib/widget/widget.cpp", "lib/widget/private/impl.hpp", "include"),
            ("lib/widget/widget.hpp", "lib/gadget/gadget.h", "include"),
            ("lib/widget/private/impl.hpp", "lib/widget/widget.hpp", "include"),
        },
        [],
    ),
    "csharp-app": (
        {
            ("src/App/Program.cs", "src/Models/User.cs", "use"),
            ("src/App/Program.cs", "src/Models/Role.cs", "use"),
            ("src/App/Program.cs", "src/Util/Strings.cs", "use"),
            ("src/App/Program.cs", "src/Util/JsonHelper.cs", "use"),
            ("src/Models/User.cs", "src/Util/Strings.cs", "use"),
            ("src/Models/User.cs", "src/Util/JsonHelper.cs", "use"),
        },
        [],
    ),
    "ruby-gem": (
        {
            ("lib/acme.rb", "lib/acme/version.rb", "require"),
            ("lib/acme.rb", "lib/acme/client.rb", "require"),
            ("lib/acme/client.rb", "lib/acme.rb", "require"),
            ("test/test_helper.rb", "lib/acme.rb", "require"),
            ("test/client_test.rb", "test/test_helper.rb", "require"),
            ("test/client_test.rb", "lib/acme/client.rb", "require"),
        },
        [["lib/acme.rb", "lib/acme/client.rb"]],
    ),
    "php-composer": (
        {
            ("src/Controller/UserController.php", "src/Model/User.php", "use"),
            ("src/Controller/UserController.php", "src/Service/Mailer.php", "use"),
            ("src/Controller/UserController.php", "src/Service/Logger.php", "use"),
            ("src/Controller/UserController.php", "src/helpers.php", "require"),
            ("src/Model/User.php", "legacy/Legacy.php", "use"),
            ("src/Service/Mailer.php", "src/Model/User.php", "use"),
            ("tests/UserControllerTest.php", "src/Controller/UserController.php", "use"),
        },
        [],
    ),
}
