"""`cellpipe compile`: the KFP output loads into the KFP SDK's protobufs (and kfp-kubernetes'), the Argo
output into Hera's Workflow model without losing a field, and the compiled container commands run."""

import base64
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import nbformat
import pytest
import yaml

# The test extra installs these: a missing one is a failure, not a skip.
import hera.workflows.models as hera_models
from google.protobuf import json_format
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

from .conftest import EXAMPLES, KALE_EXAMPLES, REPO, notebooks_in

CLI = REPO / "cellpipe" / "js" / "cli.js"
NOTEBOOKS = notebooks_in(EXAMPLES) + notebooks_in(KALE_EXAMPLES, recursive=True)


def compile_nb(path, target, *extra):
    """The worktree's CLI bundle (node server-proxy/build.mjs), run on this Node."""
    assert CLI.exists(), "build the CLI bundle first: node server-proxy/build.mjs"
    return subprocess.run(["node", str(CLI), "compile", str(path), "--target", target, *extra],
                          capture_output=True, text=True, timeout=120)


def has_steps(path):
    nb = nbformat.read(path, as_version=4)
    return any(t.startswith(("step:", "block:")) for c in nb.cells for t in c.get("metadata", {}).get("tags", []))


SETTINGS_IMAGE = "quay.io/jupyter/scipy-notebook:2026-01-01"


def settings_notebook(tmp_path):
    """The jest settings notebook (src/core/targets/__tests__/helpers.ts), as a file."""
    cells = [
        (["imports"], "import math"),
        (["pipeline-parameters"], 'rate = 0.5\ncount = 3\nlabel = "x"\nflag = True\nitems = [1, 2]\nconf = {"a": 1}'),
        (["step:load", "limit:cpu:2", "annotation:team:ml", "label:tier:gold"], "data = [rate] * count"),
        (["step:train", "prev:load", "limit:nvidia.com/gpu:1"], "model = sum(data)\nscore = model * 2"),
        (["step:report", "prev:train"], "print(label, flag, items, conf)"),
        (["pipeline-metrics"], "score"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for tags, src in cells]
    nb.metadata["cellpipe"] = {
        "name": "Demo Pipeline",
        "image": SETTINGS_IMAGE,
        "volumes": [{"name": "data-pvc", "mountPath": "/data", "type": "pvc"},
                    {"name": "home-pvc", "mountPath": "/home/jovyan", "type": "snapshot"}],
        "steps": {"train": {"cpu": {"request": "500m", "limit": "1"}, "memory": {"request": "1Gi", "limit": "2Gi"},
                            "env": {"MODE": "fast"},
                            "secrets": [{"env": "DB_PASSWORD", "secret": "db-credentials", "key": "password"}],
                            "nodeSelector": {"pool": "gpu"},
                            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                            "retries": 2, "timeout": 600, "caching": False}},
    }
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    return path


def check_kfp(text):
    docs = list(yaml.safe_load_all(text))
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(docs[0], spec, ignore_unknown_fields=False)
    assert spec.schema_version == "2.1.0" and spec.sdk_version.startswith("cellpipe-")
    if len(docs) > 1:
        platform = pipeline_spec_pb2.PlatformSpec()
        json_format.ParseDict(docs[1], platform, ignore_unknown_fields=False)
        for name, executor in docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"].items():
            assert name in docs[0]["deploymentSpec"]["executors"]
            json_format.ParseDict(executor, kubernetes_executor_config_pb2.KubernetesExecutorConfig(), ignore_unknown_fields=False)
    return docs


def check_argo(text):
    doc = yaml.safe_load(text)
    workflow = hera_models.Workflow.model_validate(doc)
    # Hera ignores unknown fields: a field it dropped (a typo, a wrong place) shows as a difference.
    assert workflow.model_dump(by_alias=True, exclude_none=True, mode="json") == doc
    return doc


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if has_steps(p)], ids=lambda p: p.name)
def test_every_example_compiles_to_a_valid_kfp_pipeline_and_argo_workflow(path, tmp_path):
    for target, check in (("kfp", check_kfp), ("argo", check_argo)):
        out = tmp_path / f"out.{target}.yaml"
        result = compile_nb(path, target, "-o", str(out))
        assert result.returncode == 0, result.stderr
        check(out.read_text())


def test_settings_compile_and_load_with_every_platform_field(tmp_path):
    path = settings_notebook(tmp_path)
    kfp = compile_nb(path, "kfp", "--snapshot", "home-pvc=snap-1:20Gi:csi-rbd")
    assert kfp.returncode == 0, kfp.stderr
    docs = check_kfp(kfp.stdout)
    executors = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors["exec-train"]["secretAsEnv"][0]["secretName"] == "db-credentials"
    # the KFP SDK loads it as a pipeline component too
    from kfp import components
    (tmp_path / "p.yaml").write_text(kfp.stdout)
    assert components.load_component_from_file(str(tmp_path / "p.yaml")).name == "demo-pipeline"
    argo = compile_nb(path, "argo", "--snapshot", "home-pvc=snap-1:20Gi")
    assert argo.returncode == 0, argo.stderr
    doc = check_argo(argo.stdout)
    assert doc["spec"]["volumeClaimTemplates"][1]["spec"]["dataSource"]["name"] == "snap-1"


def test_a_notebook_with_errors_is_not_compiled(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(nowhere)", metadata={"tags": ["step:a"]})]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "bad.yaml"
    result = compile_nb(path, "kfp", "-o", str(out))
    assert result.returncode == 1
    assert re.search(r"bad\.ipynb, cell 1, line 1: error", result.stderr), result.stderr
    assert not out.exists()
    assert compile_nb(path, "nope").returncode == 2


# --- the compiled commands, run here as KFP's launcher and Argo would run them ------------------------


def launcher_text(value):
    """How KFP's launcher turns a parameter value into command-line text (numbers without .0, JSON for lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def run_command(command, tmp_path):
    command = [sys.executable if c == "python3" else c for c in command]
    env = dict(os.environ, PYTHONPATH="")
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)


def kfp_program(exec_):
    """The step program a KFP executor carries: its first argument, after the command's BOOTSTRAP (zlib, then
    base64)."""
    return zlib.decompress(base64.b64decode(exec_["args"][0])).decode()


@pytest.mark.parametrize("runtime", ["embedded", "from the image"])
def test_kfp_commands_run_and_pass_data_and_metrics(tmp_path, runtime):
    # From the image: the image holds this cellpipe (this Python's, as the notebook pod's image holds the
    # server's), and each program carries only its step, not the runtime.
    extra = ["--runtime-image", SETTINGS_IMAGE] if runtime == "from the image" else []
    done = compile_nb(settings_notebook(tmp_path), "kfp", *extra)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    spec = yaml.safe_load_all(text).__next__()
    tasks = spec["root"]["dag"]["tasks"]
    params = {k: v["defaultValue"] for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    params["count"] = 4  # an override, as a run would pass it
    artifacts = tmp_path / "artifacts"
    for name in ["load", "train", "report"]:
        exec_ = spec["deploymentSpec"]["executors"][f"exec-{name}"]["container"]
        task_dir = artifacts / name
        outputs = spec["components"][f"comp-{name}"].get("outputDefinitions", {}).get("artifacts", {})
        executor_input = {"outputs": {"outputFile": str(task_dir / "executor_output.json"), "artifacts": {
            k: {"artifacts": [{"name": k, "uri": f"minio://x/{name}/{k}", "type": v["artifactType"], "metadata": {}}]}
            for k, v in outputs.items()}}}

        def resolve(arg):
            arg = re.sub(r"\{\{\$\.inputs\.parameters\['(\w+)'\]\}\}", lambda m: launcher_text(params[m.group(1)]), arg)
            arg = re.sub(r"\{\{\$\.inputs\.artifacts\['(\w+)'\]\.path\}\}",
                         lambda m: str(artifacts / tasks[name]["inputs"]["artifacts"][m.group(1)]["taskOutputArtifact"]["producerTask"] / m.group(1)), arg)
            arg = re.sub(r"\{\{\$\.outputs\.artifacts\['(\w+)'\]\.path\}\}", lambda m: str(task_dir / m.group(1)), arg)
            return json.dumps(executor_input) if arg == "{{$}}" else arg

        program = kfp_program(exec_)
        assert ("\ndef main(" in program) == (runtime == "embedded"), "the runtime is embedded only when asked"
        result = run_command(exec_["command"] + [resolve(a) for a in exec_["args"]], tmp_path)
        assert result.returncode == 0, result.stderr
        # No results line in a step that succeeded: its outputs are an artifact of their own.
        assert "cellpipe-results: " not in result.stderr
    # The value, its description and its content hash (the lineage line reads it), as the runtime saves them.
    assert sorted(os.listdir(artifacts / "load" / "data")) == ["data.json", "data.pkl", "data.sha256"]
    # The cell outputs, whole, as cellpipe reads them back from KFP's store.
    [stream] = [o for cell in json.loads((artifacts / "report" / "cellpipe_outputs").read_text()).values() for o in cell]
    assert stream["text"] == "x True [1, 2] {'a': 1}\n"
    assert json.loads((artifacts / "train" / "cellpipe_metrics").read_text()) == {"score": 4.0}
    page = (artifacts / "report" / "step_outputs").read_text()  # the KFP UI's view of the step's outputs
    assert page.startswith("<!DOCTYPE html>") and "<h2>Step report</h2>" in page and "<pre>" in page
    executor_output = json.loads((artifacts / "train" / "executor_output.json").read_text())
    assert executor_output["artifacts"]["cellpipe_metrics"]["artifacts"][0]["metadata"] == {"score": 4.0}


def test_a_failed_kfp_step_ends_its_log_with_its_error_and_outputs(tmp_path):
    """KFP uploads only the log of a failed step: the runtime ends it with one line cellpipe reads back."""
    path = tmp_path / "fails.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('print("before")\nraise ValueError("bad rate")', metadata={"tags": ["step:boom"]})]
    nbformat.write(nb, path)
    spec = yaml.safe_load_all(compile_nb(path, "kfp").stdout).__next__()
    exec_ = spec["deploymentSpec"]["executors"]["exec-boom"]["container"]
    resolve = lambda arg: re.sub(r"\{\{\$\.outputs\.artifacts\['(\w+)'\]\.path\}\}", lambda m: str(tmp_path / "out" / m.group(1)), arg)
    result = run_command(exec_["command"] + [resolve(a) for a in exec_["args"]], tmp_path)
    assert result.returncode == 1
    last = result.stderr.rstrip("\n").split("\n")[-1]
    assert last.startswith("cellpipe-results: "), result.stderr
    results = json.loads(last[len("cellpipe-results: "):])
    assert (results["error"]["cell"], results["error"]["line"], results["error"]["ename"]) == (0, 2, "ValueError")
    [stream] = [o for o in results["outputs"]["0"] if o["output_type"] == "stream"]
    assert stream["text"] == "before\n"


def test_a_step_refuses_an_image_whose_cellpipe_runtime_is_not_the_one_it_was_compiled_with(tmp_path):
    """The image's cellpipe is another than the server's (one installed into the home folder after the pod
    started, say): the step stops before running a cell and says why, rather than run another runtime."""
    done = compile_nb(settings_notebook(tmp_path), "kfp", "--runtime-image", SETTINGS_IMAGE)
    assert done.returncode == 0, done.stderr
    spec = next(yaml.safe_load_all(done.stdout))
    exec_ = spec["deploymentSpec"]["executors"]["exec-load"]["container"]
    other = tmp_path / "other" / "cellpipe"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "runtime.py").write_text((REPO / "cellpipe" / "runtime.py").read_text() + "\n# changed\n")
    command = [sys.executable if c == "python3" else c for c in exec_["command"]]
    result = subprocess.run(command + exec_["args"][:1] + ["--executor-input", "{}"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(other.parent)))
    assert result.returncode != 0
    assert "is not the one this step was compiled with" in result.stderr, result.stderr
    assert str(other / "runtime.py") in result.stderr


def test_argo_commands_run_on_a_shared_run_folder(tmp_path):
    doc = yaml.safe_load(compile_nb(settings_notebook(tmp_path), "argo").stdout)
    args = {p["name"]: p["value"] for p in doc["spec"]["arguments"]["parameters"]}
    args["flag"] = "false"
    run_dir = tmp_path / "run"
    metrics = tmp_path / "metrics.json"
    outputs = tmp_path / "outputs.json"
    templates = {t["name"]: t for t in doc["spec"]["templates"]}
    for task in templates["main"]["dag"]["tasks"]:
        container = templates[task["template"]]["container"]

        def resolve(arg):
            arg = re.sub(r"\{\{workflow\.parameters\.(\w+)\}\}", lambda m: args[m.group(1)], arg)
            paths = {"/cellpipe/run": run_dir, "/tmp/cellpipe/metrics.json": metrics, "/tmp/cellpipe/outputs.json": outputs}
            return str(paths.get(arg, arg))

        result = run_command(container["command"] + [resolve(a) for a in container["args"]], tmp_path)
        assert result.returncode == 0, result.stderr
        if task["name"] == "report":
            assert "x False [1, 2] {'a': 1}" in result.stdout
            # what Argo returns as the step's `outputs` parameter, and JupyterLab then shows
            [stream] = [o for cell in json.loads(outputs.read_text()).values() for o in cell]
            assert stream["text"] == "x False [1, 2] {'a': 1}\n"
    assert json.loads(metrics.read_text()) == {"score": 3.0}


def test_cluster_parameters_are_read_as_their_declared_type():
    sys.path.insert(0, str(REPO / "cellpipe"))
    try:
        import runtime
    finally:
        sys.path.pop(0)
    read = runtime._parameter_from_text
    assert read("3", "int") == 3 and read("3.0", "int") == 3
    assert read("1", "float") == 1.0 and isinstance(read("1", "float"), float)
    assert read("true", "bool") is True and read("False", "bool") is False
    assert read('{"a": [1]}', "dict") == {"a": [1]} and read("[1, 2]", "list") == [1, 2]
    assert read("$(rm -rf /)", "str") == "$(rm -rf /)"
    with pytest.raises(ValueError):
        read("maybe", "bool")


# --- notebook: steps (Kale 2.x composition) ------------------------------------------------------------

COMPOSITION = EXAMPLES / "composition" / "forecast.ipynb"


def composition_with_volumes(tmp_path):
    """A root with a snapshot volume, running a notebook that runs another (nested, which Kale refuses)."""
    def write(name, cells, metadata=None):
        nb = nbformat.v4.new_notebook()
        for tags, source, *path in cells:
            meta = {"tags": tags}
            if path:
                meta["notebook_path"] = path[0]
            nb.cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
        nb.metadata.update(metadata or {})
        nbformat.write(nb, tmp_path / name)
    write("leaf.ipynb", [(["step:make"], "base = [1, 2, 3]")])
    write("middle.ipynb", [(["pipeline-parameters"], "factor = 5"), (["notebook:leaf"], "", "leaf.ipynb"),
                           (["step:grow", "secret:db:password:DB_PASSWORD"], "grown = [b * factor for b in base]")])
    write("root.ipynb", [(["pipeline-parameters"], "factor = 3"), (["notebook:middle"], "", "middle.ipynb"),
                         (["step:total"], "total = sum(grown)\nprint(total)"), (["pipeline-metrics"], "print(total)")],
          {"cellpipe": {"name": "nested", "volumes": [{"name": "home-pvc", "mountPath": "/home/jovyan", "type": "snapshot"}]}})
    return tmp_path / "root.ipynb"


def test_a_composition_compiles_to_a_kfp_dag_component_per_notebook_step_that_the_sdk_loads(tmp_path):
    result = compile_nb(COMPOSITION, "kfp", "-o", str(tmp_path / "forecast.yaml"))
    assert result.returncode == 0, result.stderr
    docs = check_kfp((tmp_path / "forecast.yaml").read_text())
    from kfp import components
    assert components.load_component_from_file(str(tmp_path / "forecast.yaml")).name == "forecast"
    spec = docs[0]
    assert set(spec["root"]["dag"]["tasks"]) == {"data", "model", "summary"}
    assert set(spec["components"]["comp-data"]["dag"]["tasks"]) == {"data-generate", "data-split"}
    assert spec["components"]["comp-model"]["dag"]["outputs"]["artifacts"]["mae"]["artifactSelectors"] == [
        {"outputArtifactKey": "mae", "producerSubtask": "model-predict"}]
    # the Kale 2.x tags of the child's steps: cache:disabled, report:disabled
    data_tasks = spec["components"]["comp-data"]["dag"]["tasks"]
    assert data_tasks["data-generate"]["cachingOptions"] == {"enableCache": False}
    assert "step_outputs" not in spec["components"]["comp-data-split"]["outputDefinitions"]["artifacts"]

    nested = compile_nb(composition_with_volumes(tmp_path), "kfp", "--snapshot", "home-pvc=snap-1:20Gi")
    assert nested.returncode == 0, nested.stderr
    docs = check_kfp(nested.stdout)
    (tmp_path / "nested.yaml").write_text(nested.stdout)
    assert components.load_component_from_file(str(tmp_path / "nested.yaml")).name == "nested"
    executors = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    # inside a sub-DAG the restored claim's name is handed down as a parameter
    assert executors["exec-middle-leaf-make"]["pvcMount"][0]["pvcNameParameter"] == {"componentInputParameter": "pvc_vol_home_pvc"}
    assert executors["exec-middle-grow"]["secretAsEnv"][0]["secretName"] == "db"


def test_a_composition_compiles_to_an_argo_dag_template_per_notebook_step_that_hera_validates(tmp_path):
    for path in (COMPOSITION, composition_with_volumes(tmp_path)):
        result = compile_nb(path, "argo", "-o", str(tmp_path / "out.yaml"))
        assert result.returncode == 0, result.stderr
        doc = check_argo((tmp_path / "out.yaml").read_text())
    templates = {t["name"]: t for t in doc["spec"]["templates"]}
    assert [t["name"] for t in templates["main"]["dag"]["tasks"]] == ["middle", "total"]
    assert [t["name"] for t in templates["middle"]["dag"]["tasks"]] == ["middle-leaf", "middle-grow"]
    assert [t["name"] for t in templates["middle-leaf"]["dag"]["tasks"]] == ["middle-leaf-make"]


def run_kfp_dag(spec, tmp_path, params):
    """Runs a compiled PipelineSpec's containers here, resolving inputs as KFP's driver does through DAGs."""
    artifacts = tmp_path / "artifacts"
    logs = {}

    def run_dag(dag, inputs_params, inputs_artifacts, outputs):
        done = {}
        tasks = dict(dag["tasks"])
        while tasks:
            name = next(n for n, t in tasks.items() if all(d in done for d in t.get("dependentTasks", [])))
            task = tasks.pop(name)
            task_params = {}
            for key, source in task.get("inputs", {}).get("parameters", {}).items():
                task_params[key] = inputs_params[source["componentInputParameter"]]
            task_artifacts = {}
            for key, source in task.get("inputs", {}).get("artifacts", {}).items():
                if "componentInputArtifact" in source:
                    task_artifacts[key] = inputs_artifacts[source["componentInputArtifact"]]
                else:
                    ref = source["taskOutputArtifact"]
                    task_artifacts[key] = done[ref["producerTask"]][ref["outputArtifactKey"]]
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                inner = {}
                run_dag(component["dag"], task_params, task_artifacts, inner)
                selectors = component["dag"].get("outputs", {}).get("artifacts", {})
                done[name] = {k: inner[s["artifactSelectors"][0]["producerSubtask"]][s["artifactSelectors"][0]["outputArtifactKey"]]
                              for k, s in selectors.items()}
            else:
                container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
                out_dir = artifacts / name

                def resolve(arg):
                    arg = re.sub(r"\{\{\$\.inputs\.parameters\['(\w+)'\]\}\}", lambda m: launcher_text(task_params[m.group(1)]), arg)
                    arg = re.sub(r"\{\{\$\.inputs\.artifacts\['(\w+)'\]\.path\}\}", lambda m: str(task_artifacts[m.group(1)]), arg)
                    arg = re.sub(r"\{\{\$\.outputs\.artifacts\['(\w+)'\]\.path\}\}", lambda m: str(out_dir / m.group(1)), arg)
                    return json.dumps({"outputs": {}}) if arg == "{{$}}" else arg

                result = run_command(container["command"] + [resolve(a) for a in container["args"]], tmp_path)
                assert result.returncode == 0, result.stderr
                logs[name] = result.stdout
                outs = component.get("outputDefinitions", {}).get("artifacts", {})
                done[name] = {k: out_dir / k for k in outs}
            outputs[name] = done[name]

    run_dag(spec["root"]["dag"], params, {}, {})
    return artifacts, logs


def test_the_composition_kfp_commands_pass_data_and_parameters_through_the_sub_dags(tmp_path):
    pytest.importorskip("IPython")
    spec = next(yaml.safe_load_all(compile_nb(COMPOSITION, "kfp").stdout))
    params = {k: v["defaultValue"] for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    params["seed"] = 3
    artifacts, logs = run_kfp_dag(spec, tmp_path, params)
    # the parent's n_days and seed reached the child; its metric is the notebook's own value
    assert "365 days" in logs["data-generate"]
    assert json.loads((artifacts / "model-predict" / "cellpipe_metrics").read_text()) == {"mae": pytest.approx(1.593660103825519)}
    assert "next 28 days: 3362 units" in logs["summary"]


def test_the_composition_argo_commands_run_nested_dag_templates_on_the_run_folder(tmp_path):
    pytest.importorskip("IPython")
    doc = yaml.safe_load(compile_nb(composition_with_volumes(tmp_path), "argo").stdout)
    args = {p["name"]: p["value"] for p in doc["spec"]["arguments"]["parameters"]}
    args["factor"] = "4"
    run_dir = tmp_path / "run"
    metrics = tmp_path / "metrics.json"
    templates = {t["name"]: t for t in doc["spec"]["templates"]}
    printed = []

    def run(template):
        if "dag" in template:
            for task in template["dag"]["tasks"]:
                run(templates[task["template"]])
            return
        container = template["container"]
        paths = {"/cellpipe/run": run_dir, "/tmp/cellpipe/metrics.json": metrics,
                 "/tmp/cellpipe/outputs.json": tmp_path / "outputs.json"}
        resolved = [str(paths.get(a, re.sub(r"\{\{workflow\.parameters\.(\w+)\}\}", lambda m: args[m.group(1)], a)))
                    for a in container["args"]]
        result = run_command(container["command"] + resolved, tmp_path)
        assert result.returncode == 0, result.stderr
        printed.append(result.stdout)

    run(templates["main"])
    # factor=4 from the run reached the middle notebook, which declares it: (1 + 2 + 3) * 4
    assert "24" in printed[-1] and json.loads(metrics.read_text()) == {"total": 24}
