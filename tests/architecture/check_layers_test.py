"""check_layers.py on small made-up trees: it must catch what it is for."""
import pathlib
import subprocess
import sys
import tempfile
import unittest

SCRIPT = pathlib.Path(__file__).resolve().parent / "check_layers.py"
REPO = SCRIPT.parents[2]


def tree(files: dict) -> tempfile.TemporaryDirectory:
    """A repository holding `files` (path → text), plus a test dir per module."""
    tmp = tempfile.TemporaryDirectory()
    root = pathlib.Path(tmp.name)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for known in ("src/export/prometheus/metrics.cpp", "src/export/report/report_json.h"):
        # The known exceptions must still be there, or the check calls them stale.
        (root / known).parent.mkdir(parents=True, exist_ok=True)
        (root / known).write_text((REPO / known).read_text())
    for src_dir in {p.parent for p in (root / "src").rglob("*.*")}:
        rel = src_dir.relative_to(root / "src")
        if str(rel) != ".":
            (root / "tests/unit" / rel).mkdir(parents=True, exist_ok=True)
            (root / "tests/unit" / rel / "CMakeLists.txt").write_text("")
    (root / "tests/unit/export").mkdir(parents=True, exist_ok=True)
    return tmp


def run(root: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", root], capture_output=True, text=True, timeout=30)


class CheckLayers(unittest.TestCase):
    def test_this_repository_passes(self):
        result = run(str(REPO))
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_a_lower_module_including_a_higher_one_fails(self):
        with tree({"src/probe/cgroup.cpp": '#include "daemon/sampler.h"\n',
                   "src/daemon/sampler.h": ""}) as root:
            result = run(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn('src/probe/cgroup.cpp:1: probe includes "daemon/sampler.h"', result.stderr)

    def test_export_including_the_daemon_fails(self):
        with tree({"src/export/report/badge.cpp": '#include "model/snapshot.h"\n#include "daemon/sampler.h"\n',
                   "src/daemon/sampler.h": "", "src/model/snapshot.h": ""}) as root:
            result = run(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("badge.cpp:2: export/report includes", result.stderr)
        self.assertNotIn("badge.cpp:1", result.stderr)

    def test_a_downward_include_passes(self):
        with tree({"src/daemon/sampler.cpp": '#include "model/snapshot.h"\n#include "probe/cgroup.h"\n',
                   "src/model/snapshot.h": '#include "analysis/layers.h"\n', "src/probe/cgroup.h": "",
                   "src/analysis/layers.h": ""}) as root:
            result = run(root)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_another_modules_detail_header_fails(self):
        with tree({"src/model/x.cpp": '#include "probe/detail/fields.h"\n',
                   "src/probe/detail/fields.h": ""}) as root:
            result = run(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("internal to probe", result.stderr)

    def test_a_module_without_a_test_directory_fails(self):
        with tree({"src/model/x.h": ""}) as root:
            (pathlib.Path(root) / "tests/unit/model/CMakeLists.txt").unlink()
            result = run(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("src/model/ has no tests/unit/model/CMakeLists.txt", result.stderr)

    def test_a_test_directory_of_no_module_fails(self):
        with tree({"src/model/x.h": ""}) as root:
            (pathlib.Path(root) / "tests/unit/golden").mkdir()
            (pathlib.Path(root) / "tests/unit/golden/CMakeLists.txt").write_text("")
            result = run(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("tests/unit/golden/ tests no module of src/", result.stderr)

    def test_a_new_module_must_be_placed_in_the_layers(self):
        with tree({"src/cache/lru.h": ""}) as root:
            result = run(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("src/cache/ is missing from MAY_INCLUDE", result.stderr)


if __name__ == "__main__":
    unittest.main()
