"""Our ``.proto`` subset agrees with the API compiled into the installed gobgpd.

A Go binary built with protobuf embeds each ``.proto`` file's descriptor (a serialised
``FileDescriptorProto``). This test finds gobgpd's ``gobgp.proto`` and ``attribute.proto``
descriptors in ``/usr/bin/gobgpd`` and checks that every service method, message, field and
enum value we declare exists there with the same name, number, type and label — the facts
the wire format depends on. (We declare a subset, so extra upstream items are fine.)

Needs the gobgpd binary; under ``CI=true`` its absence fails instead of skipping.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2  # type: ignore[import-untyped]

from gobgp._generated import attribute_pb2, gobgp_pb2
from tests.harness.prereq import require

Facts = dict[str, Any]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _embedded_descriptor(binary: bytes, name: str) -> Any:
    """Parse the descriptor starting at ``name`` + package ``apipb``: read fields of
    FileDescriptorProto (numbers 1..14, varint or length-delimited) until something else."""
    encoded = name.encode()
    start = binary.find(b"\n" + bytes([len(encoded)]) + encoded + b"\x12\x05apipb")
    assert start >= 0, f"{name} descriptor not found in gobgpd"
    pos = start
    while pos < len(binary):
        tag, after = _varint(binary, pos)
        number, wire = tag >> 3, tag & 7
        if not 1 <= number <= 14 or wire not in (0, 2):
            break
        if wire == 2:
            length, after = _varint(binary, after)
            after += length
        else:
            _, after = _varint(binary, after)
        pos = after
    return descriptor_pb2.FileDescriptorProto.FromString(binary[start:pos])


def _facts(file: Any) -> Facts:
    """{full name: {member: (number, type, label, type name)}} for messages and enums."""
    facts: Facts = {}

    def walk(prefix: str, messages: Any, enums: Any) -> None:
        for enum in enums:
            facts[prefix + enum.name] = {v.name: v.number for v in enum.value}
        for msg in messages:
            facts[prefix + msg.name] = {
                f.name: (f.number, f.type, f.label, f.type_name) for f in msg.field
            }
            walk(f"{prefix}{msg.name}.", msg.nested_type, msg.enum_type)

    walk(f".{file.package}.", file.message_type, file.enum_type)
    for service in file.service:
        for method in service.method:
            facts[f"rpc {service.name}.{method.name}"] = {
                "signature": (
                    method.input_type,
                    method.output_type,
                    method.client_streaming,
                    method.server_streaming,
                )
            }
    return facts


def _ours(module: Any) -> Any:
    file = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(file)
    return file


@pytest.fixture(scope="module")
def daemon_facts() -> Facts:
    path = shutil.which("gobgpd")
    require(path is not None, "gobgpd (apt install gobgpd)")
    assert path is not None
    binary = Path(path).read_bytes()
    facts: Facts = {}
    for name in ("gobgp.proto", "attribute.proto"):
        facts.update(_facts(_embedded_descriptor(binary, name)))
    return facts


@pytest.mark.parametrize("module", [gobgp_pb2, attribute_pb2], ids=["gobgp", "attribute"])
def test_our_subset_matches_gobgpd(module: Any, daemon_facts: Facts) -> None:
    ours = _ours(module)
    assert ours.package == "apipb"
    mismatches = []
    for name, members in _facts(ours).items():
        theirs = daemon_facts.get(name)
        if theirs is None:
            mismatches.append(f"{name}: not in gobgpd")
            continue
        for member, value in members.items():
            if theirs.get(member) != value:
                mismatches.append(f"{name}.{member}: ours {value}, gobgpd {theirs.get(member)}")
    assert not mismatches, "\n".join(mismatches)


def test_descriptor_names_are_ours() -> None:
    # the generated modules import each other inside our package (see hatch_build.py)
    assert gobgp_pb2.DESCRIPTOR.name == "gobgp/_generated/gobgp.proto"
    assert re.fullmatch(r"gobgp\._generated\.\w+", attribute_pb2.__name__)
