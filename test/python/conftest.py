import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from toolchains import REQUIRE_TOOLS, needs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*tools): the test needs these external tools (toolchains.CHECKS); "
                                       "skipped without them, a failure with FXFLOW_REQUIRE_TOOLS=1")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs"):
        needs(*mark.args)


def _reason(rep) -> str:
    return rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With FXFLOW_REQUIRE_TOOLS=1 (CI), a skipped test is a failure naming the reason: the missing tool,
    as every toolchain skip goes through toolchains.needs."""
    outcome = yield
    rep = outcome.get_result()
    if REQUIRE_TOOLS and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"FXFLOW_REQUIRE_TOOLS=1 forbids skipping {item.nodeid}: {_reason(rep)}"


_SKIPPED_MODULES: list[str] = []


def pytest_collectreport(report):
    # A module skipped while it is collected: recorded here and failed at the end of the session (turning the
    # report into a collection error would interrupt the whole run).
    if REQUIRE_TOOLS and report.skipped:
        _SKIPPED_MODULES.append(f"{report.nodeid}: {_reason(report)}")


def pytest_terminal_summary(terminalreporter):
    for line in _SKIPPED_MODULES:
        terminalreporter.write_line(f"FAILED (FXFLOW_REQUIRE_TOOLS=1 forbids skipping a module) {line}", red=True)


def pytest_sessionfinish(session):
    if _SKIPPED_MODULES and session.exitstatus == 0:
        session.exitstatus = 1
