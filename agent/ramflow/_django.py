"""Django: ready when the app registry finishes populating (django.setup)."""

from typing import Any


def connect(agent: Any) -> None:
    from django.apps import registry

    populate = registry.Apps.populate
    if getattr(populate, "_ramflow", False):
        return

    def populate_then_mark(self: Any, installed_apps: Any = None) -> None:
        populate(self, installed_apps)
        if self is registry.apps and self.ready:
            try:
                agent.describe(framework="celery" if agent.framework == "celery" else "django")
                agent.mark_ready("django")
            except Exception:
                pass

    populate_then_mark._ramflow = True  # type: ignore[attr-defined]
    registry.Apps.populate = populate_then_mark
