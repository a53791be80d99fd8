"""Loads the ramflow agent at interpreter start, then the next sitecustomize.

Put this directory first on PYTHONPATH (the sidecar injection does so). The
`ramflow` package is found next to this directory (../ramflow), or wherever it
is installed. Python imports only the first `sitecustomize` on sys.path, so
this one looks for another further down sys.path (e.g. Debian's
/usr/lib/python3.X/sitecustomize.py) and runs it too.
"""


def _load_ramflow() -> None:
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        import ramflow  # noqa: F401  (installed, or already on sys.path)
    except ImportError:
        sys.path.append(os.path.dirname(here))
        try:
            import ramflow  # noqa: F401,F811
        except Exception as error:
            print("ramflow: agent not loaded: %s" % error, file=sys.stderr)
    except Exception as error:
        print("ramflow: agent not loaded: %s" % error, file=sys.stderr)


def _chain_next_sitecustomize() -> None:
    import importlib.machinery
    import importlib.util
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    later = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", later)
    if spec is None or spec.origin is None or os.path.dirname(os.path.abspath(spec.origin)) == here:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        print("ramflow: the next sitecustomize (%s) failed: %s" % (spec.origin, error), file=sys.stderr)


_load_ramflow()
_chain_next_sitecustomize()
