"""In a cluster: keep ConfigurationState current (``adapters/kube/config_state``): the
controller's, with the pool counters and the Warning Events on broken objects, or a
speaker's ``speaker-<node>`` (``node``).

A thread reads the source every ``every`` seconds (``KubeSource.load`` returns its cached
result while nothing changed, so an idle pass costs nothing) and hands what it finds to the
writer; of the controller's replicas only the leader writes, so they never fight over the
same status.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from orchestrator.cli._where import Where
from orchestrator.log import Logger


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
            synced = self.source.informers.synced()
            self.writer.report(wanted_of(self.source.load(), synced=synced))

    def start(self) -> None:
        self.writer.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.writer.stop()
