"""ramflow: memory attribution for Python workers, reported to the ramflowd sidecar.

    import ramflow

    @ramflow.track                 # label: module.qualname
    def load(): ...

    @ramflow.track("parse rows")   # explicit label
    def parse(): ...

    with ramflow.track("render"):  # a block
        ...

    with ramflow.task("nightly-import"):   # a top-level unit outside Celery
        ...

    ramflow.mark_ready()           # end of framework initialisation

Importing the package starts the agent (bootstrap RSS, import breakdown,
Celery/Django hooks). It never raises into your code and never blocks; see
docs/agent.md.
"""

from . import _agent
from ._agent import AGENT_VERSION as __version__
from ._tasks import TaskScope
from ._tracking import Tracked, track

__all__ = ["track", "task", "mark_ready", "Tracked", "TaskScope", "__version__"]


def task(name: str) -> TaskScope:
    """A top-level unit of work, like a Celery task: decorator or context manager."""
    return TaskScope(str(name))


def mark_ready() -> None:
    """Marks the end of framework initialisation (the ecosystem layer)."""
    agent = _agent.get()
    if agent is not None:
        try:
            agent.mark_ready("explicit")
        except Exception:
            pass


_agent.start()
