"""``mlb controller``'s webhook flags, and the server with its certificate kept current.

``--webhook-address HOST:PORT`` turns the webhook on (the chart passes ``:9443``); the rest
say where the API server reaches it and where the certificate lives (see
``adapters/kube/webhook_certs``). A thread checks the certificate every
``--webhook-cert-check`` seconds (hourly by default) and loads a rotated one into the live
server. A failed check is logged and retried at the next one: the certificate in use keeps
serving.
"""

from __future__ import annotations

import argparse
import datetime
import threading
import time
from pathlib import Path
from typing import Any

from orchestrator.cli._where import Where
from orchestrator.log import Logger


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("admission and conversion webhook (in a cluster)")
    g.add_argument(
        "--webhook-address",
        default="",
        metavar="HOST:PORT",
        help="serve the validating and conversion webhooks over HTTPS here ('' = off)",
    )
    g.add_argument("--webhook-service", default="", help="the webhook's Service in --namespace")
    g.add_argument("--webhook-service-port", type=int, default=443, help="its port (443)")
    g.add_argument(
        "--webhook-url",
        default="",
        help="base URL the API server calls instead of the Service (out-of-cluster test beds)",
    )
    g.add_argument(
        "--webhook-secret", default="", help="Secret in --namespace for the generated certificate"
    )
    g.add_argument(
        "--webhook-configuration",
        default="",
        help="ValidatingWebhookConfiguration whose caBundle the controller keeps current",
    )
    g.add_argument(
        "--webhook-cert-dir",
        default="",
        metavar="DIR",
        help="use tls.crt/tls.key/ca.crt from DIR instead of generating a certificate",
    )
    g.add_argument(
        "--webhook-cert-check",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="check (and rotate) the certificate this often (default 3600)",
    )


class RunningWebhook:
    def __init__(self, server: Any, certs: Any, every: float, log: Logger) -> None:
        self.server, self.certs, self.every, self.log = server, certs, every, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-certs", daemon=True)

    def check(self) -> None:
        pair, _ = self.certs.ensure(datetime.datetime.now(datetime.UTC))
        self.server.load(pair)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.check()
            except Exception as e:  # keep serving the certificate we have
                self.log("webhookCertFailed", level="warning", msg=f"{type(e).__name__}: {e}")

    def start(self) -> None:
        self.server.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.stop()


def start(args: argparse.Namespace, where: Where, log: Logger) -> RunningWebhook | None:
    """The running webhook, or None when ``--webhook-address`` is empty (or standalone)."""
    if not args.webhook_address or where.client is None:
        return None
    from orchestrator.adapters.kube.errors import KubeTransient
    from orchestrator.adapters.kube.source import KubeSource
    from orchestrator.adapters.kube.webhook import WebhookServer
    from orchestrator.adapters.kube.webhook_certs import Endpoint, WebhookCerts

    source = where.source
    assert isinstance(source, KubeSource)
    host, _, port = args.webhook_address.rpartition(":")
    server = WebhookServer(
        (host or "0.0.0.0", int(port)),
        documents=source.documents,
        ready=source.informers.synced,
        namespace=args.namespace,
        on_error=lambda msg: log("webhookError", level="warning", msg=msg),
    )
    endpoint = Endpoint(
        namespace=args.namespace,
        service=args.webhook_service or "metallb-orchestrator-webhook",
        port=args.webhook_service_port,
        url=args.webhook_url,
    )
    certs = WebhookCerts(
        where.client,
        endpoint,
        secret=args.webhook_secret or None,
        configuration=args.webhook_configuration or None,
        cert_dir=Path(args.webhook_cert_dir) if args.webhook_cert_dir else None,
    )
    if certs.cert_dir is None and certs.secret is None:
        server.stop()
        raise SystemExit(
            "mlb controller: --webhook-address needs --webhook-secret or --webhook-cert-dir"
        )
    running = RunningWebhook(server, certs, args.webhook_cert_check, log)
    for attempt in range(5):  # the first certificate before the first connection
        try:
            running.check()
            break
        except KubeTransient as e:  # the API server restarting: bounded, then give up
            log("webhookCertFailed", level="warning", msg=str(e), attempt=attempt + 1)
            time.sleep(2)
    else:
        server.stop()
        raise SystemExit("mlb controller: could not set up the webhook certificate")
    running.start()
    log("webhookServing", address=args.webhook_address, port=server.port)
    return running
