"""The benchmark suite runs and reports every case and target (tiny sizes; nothing is timed here).

The numbers come from `python benchmarks/run.py`; this test only keeps the
command working, so that a change to the library cannot silently break it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import redis_server

ROOT = Path(__file__).resolve().parent.parent


def test_the_smoke_run_reports_every_case_and_target(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--skip-peers", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    names = [row["name"] for row in report["results"]]
    for expected in (
        "think (in memory, validated)",
        "append, durable, at 10 thoughts",
        "append floor, non-durable (bare os calls)",
        "seed scheme save, at 10 thoughts",
        "memory per stored thought, beyond its text",
    ):
        assert expected in names
    assert any(name.startswith("restore floor") for name in names)
    assert any(name.startswith("cleanup scan floor") for name in names)
    redis_rows = [row for row in report["results"] if "Redis" in row["name"]]
    assert 8 == len(redis_rows)  # two configurations of three rows, and restore beside its FS twin
    skipped = [row for row in report["results"] if row["median"] is None and row not in redis_rows]
    assert {"skipped: --skip-peers"} == {row["note"] for row in skipped}
    assert 5 == len(skipped)  # node, and two peers in two modes
    measured = [row for row in report["results"] if row["median"] is not None]
    assert all(row["min"] <= row["median"] <= row["max"] for row in measured)
    assert 16 == len(report["targets"])
    comparisons = [row for row in report["targets"] if row["target"].startswith("Redis ")]
    assert 5 == len(comparisons)
    assert all(row["limit"] is None and row["met"] is None for row in comparisons)  # no targets
    if os.environ.get(redis_server.URL_ENV):  # that server's configuration only; restore always
        assert all(row["median"] is not None for row in redis_rows if "restore" in row["name"])
    elif redis_server.binary() is not None and importlib.util.find_spec("redis") is not None:
        assert all(row["median"] is not None for row in redis_rows)
        assert all(row["ratio"] is not None for row in comparisons)
    else:  # skipped, and the rows say why
        assert not redis_server.required(), "Redis is required, but the benchmarks skipped it"
        assert all(row["median"] is None and row["note"].startswith("skipped: ") for row in redis_rows)
    names_of_targets = {row["target"] for row in report["targets"]}
    assert "bytes per stored thought beyond its text" in names_of_targets
    assert "tool peak RSS at the end / once the live cap is reached" in names_of_targets
    assert "target" in done.stdout
