"""Reads every suite's report and prints one line "N passed, N failed" for all of them.

A missing or unreadable report counts as a failure: a suite that did not run did not pass.
Exit status 1 when anything failed.
"""

import json
import sys
import xml.etree.ElementTree as ET


def jest(path):
    data = json.load(open(path))
    # A suite that fails to load, or whose afterAll fails, has no failed test but is a failure all the same.
    broken = sum(1 for r in data["testResults"] if r.get("status") == "failed"
                 and not any(a.get("status") == "failed" for a in r.get("assertionResults", [])))
    return data["numPassedTests"], data["numFailedTests"] + broken


def pytest(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed


def playwright(path):
    stats = json.load(open(path))["stats"]
    return stats["expected"] + stats.get("flaky", 0), stats["unexpected"]


def checks(path):
    results = json.load(open(path))
    return sum(1 for ok in results.values() if ok), sum(1 for ok in results.values() if not ok)


READERS = {"jest": jest, "pytest": pytest, "playwright": playwright, "checks": checks}


def main(args):
    passed = failed = 0
    for arg in args:
        name, path = arg.split("=", 1)
        try:
            p, f = READERS[name](path)
        except (OSError, ValueError, KeyError, ET.ParseError) as err:
            print(f"{name}: no usable report at {path} ({err}); counted as 1 failed")
            p, f = 0, 1
        print(f"{name}: {p} passed, {f} failed")
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
