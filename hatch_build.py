"""Hatch build hook: generate the GoBGP gRPC stubs from ``gobgp/proto/*.proto`` at build time.

Why at build time: generated code is large, version-coupled to the protobuf/grpcio it was
generated with, and noisy in review, so only the ``.proto`` sources are committed and
``gobgp/_generated/`` is git-ignored.

How:

- ``grpc_tools.protoc`` (a build requirement) runs in-process. The proto path is given as
  ``gobgp/_generated=<root>/gobgp/proto``, a protoc *virtual path*: protoc sees the sources as
  ``gobgp/_generated/*.proto``, writes the modules there, and the generated imports come out
  as ``from gobgp._generated import gobgp_pb2`` — importable as part of our package with no
  text rewriting.
- Regular wheel (``pip install .``): the generated files are declared build *artifacts*, which
  hatch includes even though ``.gitignore`` excludes them.
- Editable wheel (``pip install -e .``): the package is imported from the source tree, where
  the files were just written; nothing to add to the wheel.
- The generated code refuses to load under an older runtime than the generator
  (protobuf's gencode check, grpc's ``GRPC_GENERATED_VERSION``), so the wheel's metadata gets
  matching lower bounds for ``protobuf`` and ``grpcio``.
- The sdist carries the sources only; a wheel built from it generates again.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PROTO_DIR = Path("gobgp") / "proto"
OUT_PACKAGE = "gobgp/_generated"
INIT_TEXT = '"""Generated at build time from gobgp/proto by hatch_build.py; do not edit."""\n'
_GENCODE_VERSION = re.compile(
    r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*"
    r"(\d+),\s*(\d+),\s*(\d+),"
)
_GRPC_VERSION = re.compile(r"^GRPC_GENERATED_VERSION = ['\"]([0-9.]+)['\"]", re.MULTILINE)


class GeneratedStubsError(RuntimeError):
    """protoc failed; the message carries its diagnostics."""


def generate(root: Path) -> list[Path]:
    """(Re)generate the stubs under ``root/gobgp/_generated``; returns the files written."""
    from grpc_tools import protoc  # type: ignore[import-untyped]  # build requirement

    out_dir = root / OUT_PACKAGE
    if out_dir.exists():
        shutil.rmtree(out_dir)  # no stale modules from a renamed or removed .proto
    out_dir.mkdir(parents=True)
    sources = sorted((root / PROTO_DIR).glob("*.proto"))
    if not sources:
        raise GeneratedStubsError(f"no .proto files in {root / PROTO_DIR}")
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"--proto_path={OUT_PACKAGE}={root / PROTO_DIR}",
        f"--proto_path={well_known}",
        f"--python_out={root}",
        f"--grpc_python_out={root}",
        *(f"{OUT_PACKAGE}/{src.name}" for src in sources),
    ]
    if protoc.main(args) != 0:
        raise GeneratedStubsError(f"protoc failed for {', '.join(s.name for s in sources)}")
    (out_dir / "__init__.py").write_text(INIT_TEXT)
    return sorted(out_dir.glob("*.py"))


def runtime_floors(generated: list[Path]) -> list[str]:
    """Lower bounds the generated code needs from the runtime libraries, read from the code."""
    floors: dict[str, str] = {}
    for path in generated:
        text = path.read_text()
        if match := _GENCODE_VERSION.search(text):
            floors["protobuf"] = ".".join(match.groups())
        if match := _GRPC_VERSION.search(text):
            floors["grpcio"] = match.group(1)
    return [f"{name}>={version}" for name, version in sorted(floors.items())]


class GobgpStubsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        generated = generate(Path(self.root))
        if version != "editable":
            build_data["artifacts"].append(f"/{OUT_PACKAGE}/*.py")
        build_data["dependencies"].extend(runtime_floors(generated))
