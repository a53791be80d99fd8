"""Prints the load tests' measured figures at the end of the run, also under -q."""
from daemon_under_load import FIGURES


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("ramflowd under load: measured figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
