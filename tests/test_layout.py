"""The house rules of the code base: where settings are read, which layer may import which, how processes log."""

from __future__ import annotations

import ast
import configparser
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, make_app, storage_env, wait_for

PACKAGES = ("ergo_tasks", "pipeline", "statestore", "deploy")


def _python_files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (REPO / package).rglob("*.py"))


def _environment_reads(path: Path) -> list[int]:
    """Lines of ``path`` that touch ``os.environ`` or call ``os.getenv`` / ``os.putenv``."""
    def touches(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute):
            return node.attr in ("environ", "getenv", "putenv", "unsetenv")
        return isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name in ("environ", "getenv") for a in node.names)

    return sorted(node.lineno for node in ast.walk(ast.parse(path.read_text(), str(path))) if touches(node))


#: The one module besides settings that touches the environment: it sets the numeric libraries' own variables
#: (their instruction sets, read when they load), and reads back only those, to report them.
NUMERICS = REPO / "pipeline" / "numerics.py"


def test_the_environment_is_read_only_in_settings_modules():
    offenders = {str(path.relative_to(REPO)): lines for path in _python_files(*PACKAGES)
                 if path.name != "settings.py" and path != NUMERICS and (lines := _environment_reads(path))}
    assert offenders == {}


def test_the_pipeline_never_reads_the_environment():
    assert [path for path in _python_files("pipeline") if path != NUMERICS and _environment_reads(path)] == []


def test_the_numeric_pin_touches_only_the_libraries_variables():
    """No setting of ours comes in through pipeline/numerics.py: it writes and reads only the names in PINS."""
    from pipeline.numerics import PINS

    calls = [node for node in ast.walk(ast.parse(NUMERICS.read_text())) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "environ"]
    assert {call.func.attr for call in calls} == {"setdefault", "get"}
    assert all(isinstance(call.args[0], ast.Name) and call.args[0].id == "name" for call in calls)  # a key of PINS
    assert "ERGO_" not in NUMERICS.read_text() and not any(name.startswith("ERGO_") for name in PINS)


def test_the_rule_above_would_see_a_read(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import os\nfrom os import getenv\nDEVICE = os.environ.get('ERGO_DEVICE')\n")
    assert _environment_reads(sneaky) == [2, 3]


def test_the_engine_contract_names_every_engine_module():
    """A new module in ergo_tasks/ is engine code: the import contract must cover it, or it could import anything."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["importlinter:contract:engine-is-generic"]["source_modules"].split())
    on_disk = {f"ergo_tasks.{path.stem}" for path in (REPO / "ergo_tasks").glob("*.py") if path.stem != "__init__"}
    assert listed == on_disk


def test_importing_a_task_module_registers_nothing(local_store):
    from ergo_tasks.analysis import ANALYZE_TASK, register
    from ergo_tasks.bootstrap import register_tasks
    from ergo_tasks.errors import TaskModuleInvalid

    app = make_app(local_store)
    assert app.tasks == {}
    register(app)
    assert ANALYZE_TASK in app.tasks
    with pytest.raises(TaskModuleInvalid, match="no register"):
        register_tasks(app, ["ergo_tasks.states"])


@pytest.mark.slow
def test_a_json_worker_prints_only_json_and_keeps_tracebacks(local_store):
    app = make_app(local_store, eager=False)
    boom = app.send_task("tests.explode", ["the gearbox jammed"])
    fine = app.send_task("tests.record_execution", ["fine"])
    env = storage_env(local_store, ERGO_POLL_SECONDS="0.1", ERGO_LOG_FORMAT="json")
    worker = subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker", "--concurrency", "2", "-I", "tests.sample_tasks"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: boom.ready() and fine.ready(), timeout=60, interval=0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON, or this raises
    workers = {record.get("worker_id") for record in records if record["event"] == "worker.started"}
    assert len(workers) == 2  # both child processes logged, as JSON
    failure = next(record for record in records if record["event"] == "task.failed")
    assert failure["job_id"] == boom.id and failure["level"] == "error"
    frames = failure["exception"][0]
    assert frames["exc_type"] == "RuntimeError" and frames["exc_value"] == "the gearbox jammed" and frames["frames"]
    assert boom.status_doc.error.message.startswith("The task failed unexpectedly")  # the client still sees no internals


def test_the_writing_tasks_example_runs_as_written(tmp_path, local_store):
    text = (REPO / "docs" / "writing-tasks.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "greetings.py").write_text(example)
    env = storage_env(local_store, PYTHONPATH=f"{REPO}:{tmp_path}")
    result = subprocess.run([sys.executable, "greetings.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("SUCCESS {'greeting': 'Hello, Ada!', 'times': 3}")


#: For each import contract in setup.cfg, a file and an import that breaks it (the module must exist, so that a
#: contract naming modules that do not exist is caught: it would keep anything).
BREAKERS = {
    "statestore-stands-alone": ("statestore/keys.py", "import pipeline"),
    "pipeline-stands-alone": ("pipeline/boxes.py", "import statestore"),
    "layers": ("ergo_tasks/analysis/keys.py", "import ergo_tasks.service"),
    "engine-is-generic": ("ergo_tasks/ids.py", "import ergo_tasks.service.errors"),
    "no-cycles": ("statestore/base.py", "from statestore import s3"),
}


def test_every_import_contract_breaks_when_its_rule_is_broken(tmp_path):
    """A contract that nothing can break checks nothing: each one, given one forbidden import, must fail."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    contracts = {section.split(":")[-1] for section in config.sections() if section.startswith("importlinter:contract:")}
    assert contracts == set(BREAKERS)  # a new contract needs its breaker here
    linter = Path(sys.executable).with_name("lint-imports")
    for contract, (path, line) in BREAKERS.items():  # one at a time: a broken layer breaks the layers above it too
        tree = tmp_path / contract
        for package in ("ergo_tasks", "pipeline", "statestore"):
            shutil.copytree(REPO / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "setup.cfg", tree / "setup.cfg")
        with open(tree / path, "a") as module:
            module.write(f"\n{line}  # breaks a contract (tests/test_layout.py)\n")
        done = subprocess.run([str(linter), "--no-cache", "--contract", contract], cwd=tree,
                              env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and "BROKEN" in done.stdout, f"{contract} kept {line} in {path}"


#: The longest a function may be in the service (and in the fault proxy, held to the same bar): one screen, read in
#: one sitting.  Complexity has its own bar, ruff's C901 (ruff.toml).
MAX_FUNCTION_LINES = 50
SHORT_FUNCTIONS = (REPO / "ergo_tasks" / "service", REPO / "tests" / "fault_proxy.py")


def _long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name (n lines)`` for every function, method or nested function of ``path`` longer than ``limit`` lines."""
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit]


def test_no_function_in_the_service_is_longer_than_a_screen():
    files = [path for place in SHORT_FUNCTIONS for path in ([place] if place.is_file() else sorted(place.rglob("*.py")))]
    assert len(files) > 10  # the folder is there and read
    assert {str(path.relative_to(REPO)): long for path in files if (long := _long_functions(path))} == {}


def test_the_rule_above_would_see_a_long_function(tmp_path):
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES))  # with its def line: one line too many
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(f"class Route:\n    def short(self):\n        pass\n\n    async def handler(self):\n{body.replace('    ', '        ')}\n"
                      f"def outer():\n    def inner():\n{body.replace('    ', '        ')}")
    assert sorted(_long_functions(sneaky)) == [f"handler ({MAX_FUNCTION_LINES + 1} lines)", f"inner ({MAX_FUNCTION_LINES + 1} lines)",
                                               f"outer ({MAX_FUNCTION_LINES + 2} lines)"]
