"""In a cluster: keep ConfigurationState current (``adapters/kube/config_state``): the
controller's, with the pool counters and the Warning Events on broken objects, or a
speaker's ``speaker-<node>`` (``node``).

The loop's source is wrapped (``Recording``): each ``load`` of the controller's or the
speaker's own loop is kept, and a thread hands the last one to the writer every ``every``
seconds (an unchanged one is not written again). The thread never loads itself:
``KubeSource.load`` and its parse cache belong to the loop's thread. Only the writer talks to
the API server; of the controller's replicas only the leader writes, so they never fight over the
same status.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from orchestrator.cli._where import Where
from orchestrator.log import Logger
from orchestrator.ports import Loaded, Source


class Recording:
    """A ``Source`` that keeps the last ``Loaded`` it returned (read by another thread: one
    reference, replaced whole)."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.last: Loaded | None = None

    def load(self) -> Loaded:
        loaded = self.inner.load()
        self.last = loaded
        return loaded


class StatusObjects:
    def __init__(
        self,
        where: Where,
        namespace: str,
        log: Logger,
        *,
        node: str | None = None,
        every: float = 1.0,
    ) -> None:
        from orchestrator.adapters.kube.config_state import ConfigStateWriter
        from orchestrator.adapters.kube.source import KubeSource

        assert where.client is not None and isinstance(where.source, KubeSource)
        self.source = where.source
        self.recording = Recording(where.source)
        self.every = every
        self.leading: Callable[[], bool] = lambda: True
        self.writer = ConfigStateWriter(
            where.client,
            namespace=namespace,
            documents=self.source.documents,
            component="metallb-speaker" if node else "metallb-controller",
            node=node,
            on_error=lambda msg: log("configStateFailed", level="warning", msg=msg),
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-objects", daemon=True)

    def _run(self) -> None:
        from orchestrator.adapters.kube.config_state import wanted_of

        while not self._stop.wait(self.every):
            if not self.leading():
                continue
            loaded = self.recording.last
            if loaded is None:
                continue
            synced = self.source.informers.synced()
            self.writer.report(wanted_of(loaded, synced=synced))

    def start(self) -> None:
        self.writer.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.writer.stop()
