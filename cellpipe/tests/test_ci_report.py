"""`cellpipe run --report FILE.md --junit FILE.xml`: what a pull request's comment and CI's test view show."""

import subprocess
import xml.etree.ElementTree as ET

from .test_cli_analyze import write_notebook


def run(cli, path, *args, cwd=None):
    return subprocess.run([cli, "run", str(path), *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def scored_notebook(path):
    return write_notebook(
        path,
        [
            ("scale = 1", ["pipeline-parameters"]),
            ("xs = [1, 2, 3]", ["step:load"]),
            (
                "import matplotlib.pyplot as plt\nplt.plot(xs, [x * scale for x in xs])\nplt.title('xs')\nplt.show()",
                ["step:draw", "prev:load"],
            ),
            ("score = sum(xs) * scale", ["step:score", "prev:load"]),
            ("if scale > 2:\n    raise ValueError(f'scale {scale} is too big | <b>')\nchecked = True", ["step:check", "prev:score"]),
            ("print(checked)", ["step:after", "prev:check"]),
            ("print(score)", ["pipeline-metrics"]),
        ],
    )


def test_a_report_compares_with_the_previous_run_and_shows_failures_and_plots(cellpipe_cli, tmp_path):
    path = scored_notebook(tmp_path / "scored.ipynb")
    first = run(cellpipe_cli, path, "--report", "first.md", "--junit", "first.xml", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    first_report = (tmp_path / "first.md").read_text()
    assert "No earlier successful run of this notebook to compare with." in first_report
    assert "| `score` | `6` |" in first_report

    second = run(cellpipe_cli, path, "--param", "scale=3", "--report", "ci/report.md", "--junit", "ci/junit.xml", cwd=tmp_path)
    assert second.returncode == 1
    report = (tmp_path / "ci" / "report.md").read_text()
    first_id = next(line for line in first.stdout.splitlines() if line.startswith("run ")).split()[1]
    assert report.startswith("## ❌ scored: run ")
    assert "`scored.ipynb` · local · 5 steps: 3 succeeded, 1 failed, 1 skipped" in report
    assert "Parameters: `scale=3`" in report
    # Steps with their states; the skipped one says why.
    assert "| `check` | ✗ failed: cell 5, line 2 |" in report
    assert "| `after` | – skipped (check failed) |" in report
    # Metrics against the previous successful run.
    assert f"### Metrics against run {first_id}" in report
    assert "| `score` | `18` | `6` | +12 (+200 %) |" in report
    # The failure: cell and line, the message, the traceback's last lines (text in a code block, not markup).
    failures = report.split("### Failures", 1)[1]
    assert "**check** failed at cell 5, line 2:" in failures
    assert "ValueError: scale 3 is too big | <b>" in failures
    assert "raise ValueError" in failures
    # The plot is a file beside the report, and the report links it.
    assert "![draw, cell 3](report-plots/draw-cell3-1.png)" in report
    assert (tmp_path / "ci" / "report-plots" / "draw-cell3-1.png").read_bytes().startswith(b"\x89PNG")

    suite = ET.parse(tmp_path / "ci" / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["load", "draw", "score", "check", "after"]
    assert all(c.get("classname") == "scored.ipynb" for c in cases.values())
    failure = cases["check"].find("failure")
    assert failure.get("type") == "ValueError"
    assert failure.get("message") == "cell 5, line 2 raised ValueError: scale 3 is too big | <b>"
    assert "Traceback" in failure.text and "raise ValueError" in failure.text
    assert cases["after"].find("skipped").get("message") == "skipped: check failed"
    assert cases["load"].find("failure") is None and cases["load"].find("skipped") is None
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["parameter.scale"] == "3" and props["status"] == "failed"


def test_a_refused_pipeline_is_reported_with_its_errors(cellpipe_cli, tmp_path):
    path = write_notebook(
        tmp_path / "broken.ipynb",
        [("data = [1, 2, 3]", ["step:load"]), ("print('total')\ntotal = sum(data)", ["step:total"])],
    )
    result = run(cellpipe_cli, path, "--report", "report.md", "--junit", "junit.xml", cwd=tmp_path)
    assert result.returncode == 1
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("## ❌ broken.ipynb: not run")
    assert "broken.ipynb, cell 2, line 2: error [missing-upstream]" in report
    [case] = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    assert case.get("name") == "analysis"
    assert "cell 2, line 2" in case.find("failure").text


def test_a_report_that_cannot_be_written_fails_the_command(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "ok.ipynb", [("x = 1", ["step:one"])])
    (tmp_path / "taken").write_text("a file, not a folder")
    result = run(cellpipe_cli, path, "--report", "taken/report.md", cwd=tmp_path)
    assert result.returncode == 1
    assert "cellpipe: Could not write taken/report.md" in result.stderr
    assert "a part of the path is a file, not a folder (ENOTDIR)" in result.stderr
    assert "Traceback" not in result.stderr and "    at " not in result.stderr
