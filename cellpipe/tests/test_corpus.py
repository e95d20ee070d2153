"""A representative part of the real-notebook corpus (cellpipe/tests/corpus; all of it: `make corpus`):
notebooks nobody here wrote, fetched from their PyPI sdists, give as pipelines tagged both ways the outputs
of a top-to-bottom run, up to what differs between two top-to-bottom runs."""

import pytest

from . import corpus

# Display state set in one cell and used below (seaborn's theme), a random seed and draws across cells
# (emcee would be too slow here), a gallery script turned into a notebook, a statsmodels formula naming a
# module imported cells above (np.sin inside the formula string).
SUBSET = ["seaborn-set_theme", "seaborn-color_palette", "networkx-subgraphs", "statsmodels-predict"]


@pytest.mark.parametrize("name", SUBSET)
def test_a_real_notebook_gives_the_same_outputs_as_a_pipeline_both_ways(cellpipe_cli, name, step_processes):
    [path] = corpus.fetch([name]).values()
    results = corpus.compare(cellpipe_cli, path)
    for how, result in results.items():
        assert (how, result["status"], result["errors"]) == (how, "succeeded", {})
        assert (how, result["differences"]) == (how, [])


def test_the_tagger_makes_steps_of_cells_and_of_sections():
    nb = corpus.gallery_notebook('"""Title\n=====\n\nIntro."""\nimport a\n\n# %%\n# Part one\n# --------\nx = 1\n\n'
                                 '# %%\n# Part two\n# --------\ny = 2\nz = 3\n')
    kinds = [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells]
    assert kinds == [("markdown", "Title"), ("code", "import a"), ("markdown", "Part one"), ("code", "x = 1"),
                     ("markdown", "Part two"), ("code", "y = 2")]
    every = [c.metadata.get("tags") for c in corpus.tag(nb, "every-cell").cells if c.cell_type == "code"]
    assert every == [["step:cell_1"], ["step:cell_2", "prev:cell_1"], ["step:cell_3", "prev:cell_2"]]
    sections = [c.metadata.get("tags") for c in corpus.tag(nb, "sections").cells if c.cell_type == "code"]
    assert sections == [["step:section_1"], ["step:section_2", "prev:section_1"], ["step:section_3", "prev:section_2"]]


def test_what_differs_between_two_runs_is_set_aside_line_by_line():
    first = {0: {"stdout": "fit\ntook 1.2 s\n", "result": "", "images": 1}}
    second = {0: {"stdout": "fit\ntook 0.9 s\n", "result": "", "images": 1}}
    same = {0: {"stdout": "fit\ntook 3.0 s\n", "result": "", "images": 1}}
    other = {0: {"stdout": "FIT\ntook 3.0 s\n", "result": "", "images": 0}}
    assert corpus.differences(first, second, same) == ([], 1)
    assert [d[1] for d in corpus.differences(first, second, other)[0]] == ["stdout", "images"]


def test_a_time_of_day_both_runs_printed_alike_is_not_a_difference_but_a_changed_value_is():
    runs = [{0: {"stdout": f"Time:  13:47:{s}\nR-squared: 0.93\n", "result": "", "images": 0}} for s in (12, 12)]
    later = {0: {"stdout": "Time:  13:47:15\nR-squared: 0.93\n", "result": "", "images": 0}}
    wrong = {0: {"stdout": "Time:  13:47:15\nR-squared: 0.91\n", "result": "", "images": 0}}
    assert corpus.differences(*runs, later) == ([], 0)
    assert [d[1] for d in corpus.differences(*runs, wrong)[0]] == ["stdout"]


def test_an_output_drawn_at_random_is_compared_in_its_text_not_its_figures():
    runs = [{0: {"stdout": f"R-squared: 0.980\nmean: {m}\n", "result": "", "images": 0}} for m in ("0.51", "-0.49")]
    third = {0: {"stdout": "R-squared: 0.981\nmean:  0.50\n", "result": "", "images": 0}}
    renamed = {0: {"stdout": "R-squared: 0.981\nmedian: 0.50\n", "result": "", "images": 0}}
    assert corpus.differences(*runs, third) == ([], 1)
    wrapped = [{0: {"stdout": "", "result": f"[{a} 2.25\n {b}]", "images": 0}} for a, b in (("1.5", "3.0"), ("1.4", "3.1"))]
    assert corpus.differences(*wrapped, {0: {"stdout": "", "result": "[1.25 2.5 3.125]", "images": 0}}) == ([], 1)
    assert [d[1] for d in corpus.differences(*runs, renamed)[0]] == ["stdout"]
