"""The wheel ships every package and every prompt template; an editable install reads prompts/.

prompts/ sits at the top of the repository (users read and edit the templates there) and is
mapped to the ``repoctx.prompts`` package by setuptools' ``package-dir``; the package list in
pyproject.toml is written out because ``find`` cannot see a mapped folder. These tests build
the real wheel (no build isolation: offline, with the setuptools of the test environment),
install it into a target folder and render every template from the installed copy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import resources
from pathlib import Path

import jinja2
import jinja2.meta
import pytest

from repoctx.review.job import render_template

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = re.compile(r" at 0x[0-9a-f]+")
TEMPLATES = sorted(path.name for path in (ROOT / "prompts").glob("*.j2"))

RENDER_ALL = r"""
import json, sys
from importlib import resources
import jinja2, jinja2.meta
import repoctx
from repoctx.review.job import render_template
folder = resources.files("repoctx.prompts")
out = {"repoctx": repoctx.__file__, "templates": {}}
for entry in sorted(folder.iterdir(), key=lambda e: e.name):
    if not entry.name.endswith(".j2"):
        continue
    source = entry.read_text("utf-8")
    names = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(source))
    values = {name: f"<{name}>" for name in names}
    out["templates"][entry.name] = [sorted(names), render_template(entry.name[:-3], **values)]
print(json.dumps(out))
"""


def _listed_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_package_is_listed_for_the_wheel() -> None:
    on_disk = {".".join(init.parent.relative_to(ROOT).parts)
               for init in (ROOT / "repoctx").rglob("__init__.py")}  # fmt: skip
    assert _listed_packages() == on_disk | {"repoctx.prompts"}


def test_editable_install_reads_the_top_level_prompts() -> None:
    for name in TEMPLATES:
        entry = resources.files("repoctx.prompts").joinpath(name)
        assert Path(str(entry)).resolve() == ROOT / "prompts" / name


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the source, installed with ``--target``."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("repoctx", "prompts"):
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"),
                    str(source)], check=True, timeout=300)  # fmt: skip
    (wheel,) = (work / "dist").glob("repoctx-*.whl")
    target = work / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, timeout=300)  # fmt: skip
    return target


def test_the_wheel_holds_every_package(installed: Path) -> None:
    for package in _listed_packages():
        assert (installed.joinpath(*package.split(".")) / "__init__.py").is_file(), package
    shipped = sorted(path.name for path in (installed / "repoctx" / "prompts").glob("*.j2"))
    assert shipped == TEMPLATES
    queries = ROOT / "repoctx" / "parsing" / "languages" / "queries"
    assert len(list((installed / "repoctx/parsing/languages/queries").glob("*.scm"))) == len(
        list(queries.glob("*.scm")))


def test_every_template_renders_from_the_installed_wheel(installed: Path) -> None:
    # -S: no site hooks, so the editable install's finder cannot answer instead of the wheel
    paths = [str(installed), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = f"import sys; sys.path[:0] = {paths!r}\n" + RENDER_ALL
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          cwd=installed.parent, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert Path(result["repoctx"]).is_relative_to(installed)
    assert sorted(result["templates"]) == TEMPLATES
    for name, (variables, text) in result["templates"].items():
        assert text.strip(), name
        source = (ROOT / "prompts" / name).read_text(encoding="utf-8")
        env = jinja2.Environment()
        assert variables == sorted(jinja2.meta.find_undeclared_variables(env.parse(source)))
        # the same text as the source tree's template gives (our render_template, editable);
        # a string stand-in used as an object prints a repr with its address: drop addresses
        mine = render_template(name[:-3], **{v: f"<{v}>" for v in variables})
        assert ADDRESS.sub("", text) == ADDRESS.sub("", mine), name
