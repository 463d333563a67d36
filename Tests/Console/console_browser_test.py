#!/usr/bin/env python3
"""The web console in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by
Selenium, against a running legate-manager with real legate-delegate processes.

Run by `swift test` (ConsoleBrowserTests); alone: python3 Tests/Console/console_browser_test.py --bin-dir .build/debug
Screenshots of each page go to --screenshots (a temporary directory by default) and, with
LEGATE_UPDATE_SCREENSHOTS=1, also to docs/console/.
"""

import os

# Descriptors inherited from the process that started us (a test runner spawning other children at the same moment
# may leak their pipe ends to us) are closed first: held for the whole suite, they would keep those pipes open and
# another test waiting for end of file on them would wait as long as we run.
os.closerange(3, 1 << 16)

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def missing_browser():
    """Why the browser suite cannot run here, or None."""
    problems = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("the Python package selenium")
    if not problems:
        return None
    return ("missing " + ", ".join(problems) + ": run .ci/run (it installs chromium and chromium-driver with apt "
            "and selenium from tools/requirements.txt)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=os.path.join(REPO, ".build", "debug"))
    parser.add_argument("--screenshots", default=None)
    arguments = parser.parse_args()
    problem = missing_browser()
    if problem:
        print("console browser suite: " + problem, file=sys.stderr)
        return 2
    for name in ("legate-manager", "legate-delegate", "legatectl"):
        if not os.access(os.path.join(arguments.bin_dir, name), os.X_OK):
            print(f"console browser suite: {name} is not built in {arguments.bin_dir}; run swift build --build-tests",
                  file=sys.stderr)
            return 2
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from console_scenarios import Scenarios

    work_dir = tempfile.mkdtemp(prefix="legate-console-")
    screenshots = arguments.screenshots or os.path.join(work_dir, "screenshots")
    os.makedirs(screenshots, exist_ok=True)
    update = os.environ.get("LEGATE_UPDATE_SCREENSHOTS") == "1"
    started = time.monotonic()
    scenarios = Scenarios(arguments.bin_dir, work_dir, screenshots)
    try:
        scenarios.run_all()
    except Exception as error:  # the report names the scenario and where its processes logged
        print(f"FAIL {scenarios.current}: {type(error).__name__}: {error}", file=sys.stderr)
        print(f"logs and screenshots: {work_dir}", file=sys.stderr)
        scenarios.save_failure_screenshot()
        scenarios.close()
        return 1
    scenarios.close()
    if update:
        target = os.path.join(REPO, "docs", "console")
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(screenshots)):
            shutil.copyfile(os.path.join(screenshots, name), os.path.join(target, name))
        print(f"screenshots copied to {target}")
    print(f"console browser suite passed in {time.monotonic() - started:.1f} s; screenshots in {screenshots}")
    if arguments.screenshots:
        shutil.rmtree(work_dir, ignore_errors=True)
    else:
        shutil.rmtree(os.path.join(work_dir, "manager"), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
