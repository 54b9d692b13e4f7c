"""Run docs/ci.md's recipes as written: its files, its jobs' ``run:`` steps, its SARIF upload.

    python bench/ci_recipes.py          # exit 0 when every step of every job passed

Every ```yaml block of docs/ci.md that starts with ``# <path>`` is written to that path of a
generated repository (a small Python project: a base commit, then a "pull request" commit).
An OpenAI-compatible server on 127.0.0.1 plays the team's model server, reached through the
``REPOCTX_SERVER`` secret: by default a scripted one (tests/fault_servers.py ``findings``: it
answers every request with one valid findings document), because the recipes are plumbing to
check — a review whose model cannot finish its JSON fails, as it should, and a 270M model
on a CPU rarely finishes it; ``--model gemma`` uses a real ``llama_cpp.server`` with the
embedded Gemma 270M GGUF instead. Then, for each
workflow, in a fresh clone of that repository (the jobs move its index):

* ``actions/checkout`` and ``actions/setup-python``: this clone and this Python;
* a ``run:`` step named ``Install …``: skipped, repoctx and pre-commit are installed here
  already (the script runs from the project's virtualenv);
* any other ``run:`` step: run by bash (``-eo pipefail``, as Actions does) with the step's
  ``env:``, whose ``${{ … }}`` expressions take the values below; a non-zero exit fails it;
* ``github/codeql-action/upload-sarif``: its ``sarif_file`` must be SARIF 2.1.0 from repoctx.

The pre-commit job must reach the model: the hook's output must not say "skipped".
Nothing leaves 127.0.0.1, and pre-commit runs offline (``repo: local``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci.md"
sys.path.insert(0, str(ROOT / "tests"))
BLOCK = re.compile(r"```yaml\n# (\S+)\n(.*?)```", re.S)
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
STEP_TIMEOUT_S = 900


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def say(self, text: str, *, fail: bool = False) -> None:
        self.failed |= fail
        self.lines.append(("FAIL " if fail else "ok   ") + text)
        print(self.lines[-1], flush=True)


def doc_files(text: str) -> dict[str, str]:
    """docs/ci.md's files: ``# path`` on the first line of a yaml block, then its content."""
    files = {path: body for path, body in BLOCK.findall(text)}
    if not files:
        raise SystemExit("docs/ci.md: no ```yaml blocks that start with '# <path>'")
    return files


def make_project(base: Path, files: dict[str, str]) -> tuple[Path, str]:
    """A git repository: base commit (project + docs/ci.md's files), then a PR commit."""
    repo = base / "project"
    (repo / "shop").mkdir(parents=True)
    for path, body in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(body)
    (repo / "shop" / "__init__.py").write_text("")
    (repo / "shop" / "prices.py").write_text(
        "def total(items):\n    return sum(price for _, price in items)\n")
    (repo / "shop" / "cart.py").write_text(
        "from shop.prices import total\n\n\nclass Cart:\n    def __init__(self):\n"
        "        self.items = []\n\n    def add(self, name, price):\n"
        "        self.items.append((name, price))\n\n    def total(self):\n"
        "        return total(self.items)\n")
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    base_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.strip()
    (repo / "shop" / "cart.py").write_text(
        (repo / "shop" / "cart.py").read_text()
        + "\n    def discount(self, percent):\n        # no bounds check\n"
          "        return self.total() * (1 - percent / 100)\n")
    subprocess.run([*git, "commit", "-qam", "discounts"], cwd=repo, check=True)
    return repo, base_sha


def expand(value: Any, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise SystemExit(f"docs/ci.md: no value for the expression {match.group(0)}")
        return values[match.group(1)]

    return EXPRESSION.sub(one, str(value))


def run_job(name: str, job: dict[str, Any], clone: Path, env: dict[str, str],
            values: dict[str, str], report: Report) -> str:
    """Every step of one job in ``clone``; returns the run steps' output, concatenated."""
    output = ""
    for step in job["steps"]:
        label = f"{name}: {step.get('name') or step.get('uses')}"
        uses = str(step.get("uses", ""))
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            report.say(f"{label} (this clone, {sys.executable})")
        elif uses.startswith("github/codeql-action/upload-sarif@"):
            check_sarif(clone / step["with"]["sarif_file"], label, report)
        elif uses:
            report.say(f"{label}: an action this script does not know", fail=True)
        elif str(step.get("name", "")).startswith("Install"):
            report.say(f"{label} (skipped: installed here already)")
        else:
            step_env = {**env, **{k: expand(v, values) for k, v in step.get("env", {}).items()}}
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                   step["run"]], cwd=clone, env=step_env, capture_output=True,
                                  text=True, timeout=STEP_TIMEOUT_S)
            output += done.stdout + done.stderr
            report.say(f"{label}: exit {done.returncode}", fail=done.returncode != 0)
            if done.returncode != 0:
                print(done.stdout[-3000:] + done.stderr[-3000:], flush=True)
                break
    return output


def check_sarif(path: Path, label: str, report: Report) -> None:
    try:
        doc = json.loads(path.read_text())
        ok = (doc["version"] == "2.1.0" and doc["runs"][0]["tool"]["driver"]["name"]
              == "repoctx" and isinstance(doc["runs"][0]["results"], list))
    except (OSError, ValueError, KeyError, IndexError) as exc:
        report.say(f"{label}: {path.name} is not SARIF ({exc})", fail=True)
        return
    results = len(doc["runs"][0]["results"])
    report.say(f"{label}: {path.name} is SARIF 2.1.0 from repoctx, {results} result(s)",
               fail=not ok)


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="run docs/ci.md's recipes as written")
    parser.add_argument("--model", choices=("scripted", "gemma"), default="scripted",
                        help="the model server the jobs reach (default: scripted findings)")
    kind = parser.parse_args().model
    files = doc_files(DOC.read_text())
    report = Report()
    with tempfile.TemporaryDirectory(prefix="repoctx-ci-") as tmp:
        base = Path(tmp)
        repo, base_sha = make_project(base, files)
        server = _model_server(kind)
        try:
            values = {"secrets.REPOCTX_SERVER": server.url,
                      "github.event.pull_request.base.sha": base_sha}
            env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                   "REPOCTX_CACHE_DIR": str(base / "cache"),
                   "XDG_CONFIG_HOME": str(base / "config"),
                   "PRE_COMMIT_HOME": str(base / "pre-commit"), "CI": "true"}
            for key in ("REPOCTX_MODEL", "REPOCTX_SERVER"):
                env.pop(key, None)
            for path in sorted(p for p in files if p.startswith(".github/workflows/")):
                workflow = yaml.safe_load(files[path])
                for name, job in workflow["jobs"].items():
                    clone = base / f"clone-{name}"
                    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
                    output = run_job(name, job, clone, env, values, report)
                    if "pre-commit run" in json.dumps(job):
                        reached = "repoctx refactor suggestions" in output and \
                            "skipped" not in output
                        report.say(f"{name}: the hook reviewed the staged pull request with "
                                   "the server" if reached else
                                   f"{name}: the hook did not review:\n{output[-2000:]}",
                                   fail=not reached)
        finally:
            server.stop()
    print("docs/ci.md: " + ("FAILED" if report.failed else "every step passed"))
    return 1 if report.failed else 0


class _Scripted:
    """tests/fault_servers.py in its ``findings`` mode: an OpenAI-compatible endpoint."""

    def __init__(self) -> None:
        import fault_servers

        self._module = fault_servers
        self.proc, self.url = fault_servers.start("findings")

    def stop(self) -> None:
        self._module.stop(self.proc)


def _model_server(kind: str) -> Any:
    if kind == "scripted":
        return _Scripted()
    from llm_helpers import Server

    from repoctx.llm.fallback import fallback_model_path

    return Server(fallback_model_path(), n_ctx=4096)


if __name__ == "__main__":
    raise SystemExit(main())
