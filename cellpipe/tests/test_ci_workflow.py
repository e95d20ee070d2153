"""examples/ci: the GitHub Actions workflow's own commands, run here as the workflow runs them on a push."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import yaml

from .conftest import EXAMPLES, REPO

WORKFLOW = EXAMPLES / "ci" / "cellpipe-pipeline.yml"
# Installing is the one command not run here: the test's environment already has cellpipe.
INSTALL = "Install cellpipe and the notebook's libraries"


def runs_on_push(step):
    condition = str(step.get("if", ""))
    return "github.event_name == 'pull_request'" not in condition


def test_the_workflow_runs_the_pipeline_on_every_push_and_posts_the_report(tmp_path):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "push" in triggers and "pull_request" in triggers
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    names = [s.get("name") for s in steps]
    assert INSTALL in names
    # The report reaches the pull request: a comment, and the job summary, even when the run failed.
    comment = next(s for s in steps if "gh pr comment" in s.get("run", ""))
    assert "always()" in comment["if"] and "--body-file" in comment["run"]

    # The repository the workflow checks out: the notebook where the workflow's NOTEBOOK says.
    notebook = tmp_path / workflow["env"]["NOTEBOOK"]
    notebook.parent.mkdir(parents=True)
    shutil.copy(REPO / workflow["env"]["NOTEBOOK"], notebook)
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        **{k: str(v) for k, v in workflow["env"].items()},
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_STEP_SUMMARY": str(summary),
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    ran = []
    for step in steps:
        if "run" not in step or step.get("name") == INSTALL or not runs_on_push(step):
            continue
        # GitHub runs `run:` with `bash -e {0}`; the `if: always()` steps run after a failure too.
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{step['name']}: {result.stdout}{result.stderr}"
        ran.append(step["name"])
    assert ran == ["Run the pipeline", "Show the report on the job page"]

    report_dir = tmp_path / workflow["env"]["REPORT_DIR"]
    report = (report_dir / "report.md").read_text()
    assert report.startswith("## ✅ iris-classifier: run ")
    assert "| `train_forest` | ✓ succeeded |" in report
    assert summary.read_text() == report
    cases = ET.parse(report_dir / "junit.xml").getroot().iter("testcase")
    assert [c.get("name") for c in cases] == ["load_data", "split", "train_logreg", "train_forest", "evaluate"]
    # What the upload step uploads: the folder the workflow names, holding the report.
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "${{ env.REPORT_DIR }}"
