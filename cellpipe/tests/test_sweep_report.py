"""`cellpipe sweep --report FILE.md --junit FILE.xml`: the trials for a pull request's comment and CI's test view."""

import json
import subprocess
import xml.etree.ElementTree as ET

from .test_cli_analyze import write_notebook


def test_the_report_tables_the_trials_marks_the_best_and_shows_failed_trials(cellpipe_cli, tmp_path):
    path = write_notebook(
        tmp_path / "tune.ipynb",
        [
            ("a = 1\nb = 0", ["pipeline-parameters"]),
            ("base = 10", ["step:load"]),
            ("value = base * a + b\nif a == 3:\n    raise ValueError(f'a={a} diverges')", ["step:fit", "prev:load"]),
            ("score = -abs(value - 21)", ["step:score", "prev:fit"]),
            ("print(score)", ["pipeline-metrics"]),
        ],
    )
    result = subprocess.run(
        [cellpipe_cli, "sweep", str(path), "--param", "a=1,2,3", "--param", "b=0,1", "--objective", "score:max",
         "--json", "--report", "ci/sweep.md", "--junit", "ci/sweep.xml"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr  # two trials failed
    record = json.loads(result.stdout)
    report = (tmp_path / "ci" / "sweep.md").read_text()
    assert report.startswith(f"## ❌ tune: sweep {record['id']} failed")
    assert "`tune.ipynb` · grid · 6 trials: 4 succeeded, 2 failed" in report
    assert "Run once for every trial: `load`" in report
    assert "Best: trial 4 (`a=2 b=1`), `score` highest" in report
    rows = [line for line in report.splitlines() if line.startswith("| ")]
    assert rows[0] == "| Trial | `a` | `b` | State | `score` (max) | Run |"
    runs = [t["run"] for t in record["trials"]]
    assert rows[2] == f"| 1 | `1` | `0` | ✓ succeeded | `-11` | `{runs[0]}` |"
    assert rows[5] == f"| **4** ★ | `2` | `1` | ✓ succeeded | `0` | `{runs[3]}` |"
    assert rows[6] == f"| 5 | `3` | `0` | ✗ failed: fit, cell 3, line 3 | — | `{runs[4]}` |"
    failed = report.split("### Failed trials", 1)[1]
    assert f"**Trial 5** (`a=3 b=0`, run `{runs[4]}`): **fit** failed at cell 3, line 3:" in failed
    assert "ValueError: a=3 diverges" in failed

    suite = ET.parse(tmp_path / "ci" / "sweep.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("6", "2")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases][:2] == ["trial 1: a=1 b=0", "trial 2: a=1 b=1"]
    failure = cases[4].find("failure")
    assert failure.get("type") == "ValueError"
    assert failure.get("message").startswith("step fit failed at cell 3, line 3: cell 3, line 3 raised ValueError")
    assert "a=3 diverges" in failure.text
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["best"] == "a=2 b=1" and props["objective"] == "score:max"
