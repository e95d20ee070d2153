"""The real-notebook corpus (cellpipe/tests/corpus): each notebook run top to bottom twice with nbclient and
as a pipeline tagged two ways (every code cell a step; one step per markdown section) through `cellpipe run`.
Prints, per notebook and in total, how many gave the outputs of a top-to-bottom run (stdout, text/plain
results, image count per cell, after setting aside what differs between the two top-to-bottom runs), and
every difference. Too slow for `make test` (about a minute a notebook); a few run there
(cellpipe/tests/test_corpus.py).

    .venv/bin/python bench/corpus.py [NAME ...]
"""

import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cellpipe.tests import corpus  # noqa: E402

HOWS = ("every-cell", "sections")


def main(names):
    cli = shutil.which("cellpipe", path=str(REPO / ".venv" / "bin")) or "cellpipe"
    paths = corpus.fetch(names or None)
    results = {}
    for name, path in sorted(paths.items()):
        started = time.time()
        try:
            results[name] = corpus.compare(cli, path, HOWS)
        except Exception as err:  # the notebook itself failed top to bottom
            results[name] = {"error": "{}: {}".format(type(err).__name__, str(err).splitlines()[-1:] )}
        line = ["{:45s} {:5.0f} s".format(name, time.time() - started)]
        for how in HOWS:
            r = results[name].get(how)
            if r is None:
                line.append("{}: notebook failed".format(how))
                continue
            ok = r["status"] == "succeeded" and not r["differences"]
            line.append("{}: {}{}".format(how, "same" if ok else "DIFFERENT", "" if ok else " ({} cells{}{})".format(
                len(r["differences"]), ", run " + str(r["status"]), ", " + json.dumps(r["errors"])[:200] if r["errors"] else "")))
        print("  ".join(line), flush=True)
        for how in HOWS:
            for cell, aspect, want, got in (results[name].get(how) or {}).get("differences", []):
                print("    {} cell {} {}: expected {!r:.300} got {!r:.300}".format(how, cell + 1, aspect, want, got))
    out = REPO / "build" / "corpus" / ("results.json" if not names else "results-{}.json".format(names[0]))
    out.write_text(json.dumps(results, indent=1, default=str))
    print()
    total = len(results)
    for how in HOWS:
        same = sum(1 for r in results.values() if (r.get(how) or {}).get("status") == "succeeded"
                   and not r[how]["differences"])
        noise = sum((r.get(how) or {}).get("noise", 0) for r in results.values())
        outputs = sum((r.get(how) or {}).get("outputs", 0) for r in results.values())
        print("{:10s}: {}/{} notebooks with the outputs of a top-to-bottom run ({} cell outputs compared, {} set "
              "aside as the notebooks' own noise)".format(how, same, total, outputs, noise))


if __name__ == "__main__":
    main(sys.argv[1:])
