"""v1 ``Secret`` objects, used only as sources of BGP passwords.

A BGPPeer's ``passwordSecret {name, namespace}`` is resolved while parsing, from the Secret
documents in the same input: the Secret must have type ``kubernetes.io/basic-auth`` and a
``password`` key, in ``stringData`` (plain) or ``data`` (base64); ``stringData`` wins, as
the API server merges it over ``data`` on write. Secrets nobody references are not even
decoded.

A MetalLoadBalancerBGPPeer's ``passwordSecretRef {name, namespace}`` is resolved the same
way with Deckhouse's rules instead: the Secret must carry the label
``network.deckhouse.io/metallb-bgp-password: "true"`` (Deckhouse watches only labelled
Secrets) and a ``password`` key; its type is not checked (Deckhouse copies the data into a
Secret of its own).

Messages name the Secret and the key, never any part of its content: a value that fails to
decode is reported as "not valid base64", not shown.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from orchestrator.core.parse.documents import Doc

BASIC_AUTH = "kubernetes.io/basic-auth"
PASSWORD_KEY = "password"
#: The label a Secret needs before a MetalLoadBalancerBGPPeer may take its password.
DECKHOUSE_PASSWORD_LABEL = ("network.deckhouse.io/metallb-bgp-password", "true")


class SecretError(ValueError):
    """Why a referenced Secret cannot provide a password (no secret content inside)."""


@dataclass
class Secrets:
    by_key: dict[tuple[str, str], Doc] = field(default_factory=dict)

    def add(self, doc: Doc) -> None:
        self.by_key[(doc.namespace, doc.name)] = doc

    def find(self, namespace: str, name: str) -> Doc | None:
        """The Secret ``namespace/name``; with no namespace known, the only one of that name."""
        if namespace:
            return self.by_key.get((namespace, name)) or self.by_key.get(("", name))
        matches = [d for (_, n), d in self.by_key.items() if n == name]
        return matches[0] if len(matches) == 1 else None

    def password(self, namespace: str, name: str, *, deckhouse: bool = False) -> str:
        """The password in Secret ``namespace/name``; with ``deckhouse``, by the
        MetalLoadBalancerBGPPeer rules (label instead of type). Raises ``SecretError``."""
        where = f"{namespace}/{name}" if namespace else name
        doc = self.find(namespace, name)
        if doc is None:
            raise SecretError(f"Secret {where} not found")
        where = doc.ref.removeprefix("Secret/")
        if deckhouse:
            key, value = DECKHOUSE_PASSWORD_LABEL
            if doc.labels.get(key) != value:
                raise SecretError(f'Secret {where} lacks the label {key}: "{value}"')
        elif (kind := doc.raw.get("type")) != BASIC_AUTH:
            raise SecretError(f"Secret {where} has type {kind!r}; it must be {BASIC_AUTH!r}")
        string_data = doc.raw.get("stringData")
        if isinstance(string_data, dict) and PASSWORD_KEY in string_data:
            value = string_data[PASSWORD_KEY]
            if not isinstance(value, str):
                raise SecretError(f"Secret {where}: stringData.password must be a string")
            return value
        data = doc.raw.get("data")
        if not isinstance(data, dict) or PASSWORD_KEY not in data:
            raise SecretError(f"Secret {where} has no {PASSWORD_KEY!r} key")
        encoded = data[PASSWORD_KEY]
        if not isinstance(encoded, str):
            raise SecretError(f"Secret {where}: data.password must be a base64 string")
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise SecretError(f"Secret {where}: data.password is not valid base64 UTF-8") from None
