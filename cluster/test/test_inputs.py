"""A failed Argo step's inputs on the lab, as a user loads them: `cellpipe inputs` in the notebook pod copies
what the step received from the failed workflow's run volume (through a short-lived pod of the step's image
and `exec`), and the code it prints, run in an IPython shell of the notebook's Python, gives the step's
values. The run's lineage has each input's content hash and the image digest the pods ran a tag at."""

import json
import shlex

from lab import fresh, items, notebook, run_record, sh, submit


def test_a_failed_argo_steps_inputs_load_from_its_run_volume_and_the_lineage_has_hashes_and_digests():
    folder = "e2e/inputs"
    fresh(folder, "nb.ipynb", notebook(
        [
            (["pipeline-parameters"], "rate = 0.5"),
            (["step:load"], "data = [1.0, 2.0, 3.0]\nlabels = {'a': 1}"),
            (["step:fit", "prev:load"], "total = sum(data) * rate\nassert total < 1, f'total {total} is too big'"),
        ],
        name="inputs",
    ))
    done = submit(folder, "nb.ipynb", "--param", "rate=0.25", "--watch")
    assert done.returncode == 1, done.stderr
    run_id = json.loads(done.stdout)["run"]
    record = run_record(folder, run_id)
    assert record["steps"]["fit"]["status"] == "failed"
    assert (record["steps"]["fit"]["error"]["cell"], record["steps"]["fit"]["error"]["line"]) == (2, 2)

    # Lineage: the hashes the steps' logs end with, and the images pinned to what the pods ran.
    lineage = record["lineage"]["steps"]
    assert lineage["load"]["outputs"]["data"].startswith("sha256:")
    assert lineage["fit"]["inputs"]["data"]["hash"] == lineage["load"]["outputs"]["data"]
    assert "@sha256:" in lineage["load"]["image"], lineage["load"]
    assert "@sha256:" in lineage["fit"]["image"], lineage["fit"]

    code = sh(f"cd {folder} && cellpipe inputs {run_id} fit --notebook nb.ipynb > inputs.py", timeout=600)
    assert code.returncode == 0, code.stderr
    check = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_cell(open('inputs.py').read()).raise_error()\n"
        "ns = shell.user_ns\n"
        "print(ns['data'], ns['rate'], 'total' in ns)\n"
    )
    loaded = sh(f"cd {folder} && python3 -c {shlex.quote(check)}", timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == "[1.0, 2.0, 3.0] 0.25 False"
    # The pod that read the volume is gone; the failed workflow's run volume stays until it is deleted.
    assert items("pods", "cellpipe.dev/role=volume-reader") == []
    workflow = record["cluster"]["name"]
    assert any(p["metadata"]["name"] == f"{workflow}-cellpipe-run" for p in items("pvc"))
