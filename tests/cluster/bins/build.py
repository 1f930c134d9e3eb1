"""Build the cluster tier's real control plane from the Go module proxy: ``make kube-bins``.

Three wrapper modules pin what we run: ``kubernetes/`` (kube-apiserver and kubectl),
``etcd/`` and ``helm/``. Each holds a ``go.mod``/``go.sum`` and a ``tools.go`` that names the
commands, so ``go build`` resolves exactly the committed versions. ``k8s.io/kubernetes``
cannot be built with ``go install`` because its ``go.mod`` requires the staging modules
(``k8s.io/api``, ``k8s.io/apiserver``, ...) at ``v0.0.0`` and replaces them with local
paths; our wrapper replaces each with its published ``v0.Y.Z``. ``--refresh-replaces``
rewrites that list from the release's own ``go.mod`` when the version is bumped.

Binaries go to a cache outside the repository, keyed by the versions and a hash of the
wrapper files and build flags: ``${XDG_CACHE_HOME:-~/.cache}/mlb-kube-bins/<key>/``. A
complete directory is reused as it is; a missing binary is built. ``current`` in the cache
root points at the newest key (the lab's default, see ``orchestrator/lab/controlplane.py``).
The last line printed is the directory.

Flags follow upstream's release builds: ``CGO_ENABLED=0``, ``-trimpath``, Kubernetes' build
tags ``selinux,notest,grpcnotrace`` and its version stamped through ``-ldflags -X`` (so
``kubectl version`` and the server agree on what they are).

Without Go: exit 0 with a warning on a developer machine (the cluster tier then skips and
says why), exit 1 under ``CI=true`` (the tier must never be skipped there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAGS = "selinux,notest,grpcnotrace"
#: command -> (wrapper module dir, Go package)
COMMANDS = {
    "kube-apiserver": ("kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver"),
    "kubectl": ("kubernetes", "k8s.io/kubernetes/cmd/kubectl"),
    "etcd": ("etcd", "go.etcd.io/etcd/server/v3"),
    "helm": ("helm", "helm.sh/helm/v3/cmd/helm"),
}
PINNED = {"kubernetes": "k8s.io/kubernetes", "etcd": "go.etcd.io/etcd/server/v3"}
PINNED["helm"] = "helm.sh/helm/v3"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlb-kube-bins"


def version(module_dir: str) -> str:
    text = (HERE / module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(PINNED[module_dir])} (v\S+)", text, re.M)
    if match is None:
        raise SystemExit(f"{module_dir}/go.mod does not require {PINNED[module_dir]}")
    return match.group(1)


def ldflags(module_dir: str) -> str:
    flags = ["-s", "-w"]
    if module_dir == "kubernetes":
        v = version("kubernetes")
        major, minor = v.removeprefix("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {pkg}.gitVersion={v}",
                f"-X {pkg}.gitMajor={major}",
                f"-X {pkg}.gitMinor={minor}",
                f"-X {pkg}.gitTreeState=clean",
                f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
            ]
    if module_dir == "helm":
        flags.append(f"-X helm.sh/helm/v3/internal/version.version={version('helm')}")
    return " ".join(flags)


def key() -> str:
    digest = hashlib.sha256()
    for module_dir in sorted(PINNED):
        for name in ("go.mod", "go.sum", "tools.go"):
            digest.update((HERE / module_dir / name).read_bytes())
        digest.update(ldflags(module_dir).encode())
    digest.update(TAGS.encode())
    k, e, h = (version(m) for m in ("kubernetes", "etcd", "helm"))
    return f"k8s-{k}_etcd-{e}_helm-{h}_{digest.hexdigest()[:10]}"


def refresh_replaces() -> None:
    """Rewrite kubernetes/go.mod's replace block from the pinned release's own go.mod."""
    v = version("kubernetes")
    url = f"https://proxy.golang.org/k8s.io/kubernetes/@v/{v}.mod"
    with urllib.request.urlopen(url, timeout=30) as resp:
        upstream = resp.read().decode()
    staging = re.findall(r"^\s+(k8s\.io/\S+) v0\.0\.0$", upstream, re.M)
    minor = "v0." + v.removeprefix("v1.")
    block = "\n".join(f"\t{m} => {m} {minor}" for m in staging)
    path = HERE / "kubernetes" / "go.mod"
    text = re.sub(r"replace \((.|\n)*?\n\)", f"replace (\n{block}\n)", path.read_text())
    path.write_text(text)
    subprocess.run(["go", "mod", "tidy"], cwd=path.parent, check=True)


def build(target: Path) -> list[str]:
    """Build what ``target`` lacks; return what was built. One ``go build`` per command:
    the Go build cache shares the packages, only the link is done per binary."""
    missing = [c for c in COMMANDS if not (target / c).is_file()]
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"}
    partial = target.with_name(target.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    for cmd in missing:
        module_dir, package = COMMANDS[cmd]
        argv = ["go", "build", "-trimpath", "-ldflags", ldflags(module_dir)]
        if module_dir == "kubernetes":
            argv += ["-tags", TAGS]
        argv += ["-o", str(partial / cmd), package]
        started = time.monotonic()
        print(f"kube-bins: building {cmd} ({module_dir}/go.mod)", file=sys.stderr)
        subprocess.run(argv, cwd=HERE / module_dir, env=env, check=True)
        print(f"kube-bins: {cmd} built in {time.monotonic() - started:.0f} s", file=sys.stderr)
        target.mkdir(parents=True, exist_ok=True)
        os.replace(partial / cmd, target / cmd)
    shutil.rmtree(partial, ignore_errors=True)
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh-replaces", action="store_true", help=refresh_replaces.__doc__)
    args = parser.parse_args()
    if shutil.which("go") is None:
        msg = "kube-bins: no Go toolchain on PATH; the cluster tier cannot run"
        if os.environ.get("CI") == "true":
            print(f"{msg} (CI=true: failing)", file=sys.stderr)
            return 1
        print(f"{msg} (it will be skipped)", file=sys.stderr)
        return 0
    if args.refresh_replaces:
        refresh_replaces()
    target = cache_root() / key()
    built = build(target)
    (target / "versions.json").write_text(
        json.dumps({m: version(m) for m in sorted(PINNED)}, indent=1) + "\n"
    )
    current = cache_root() / "current"
    tmp = current.with_name(".current.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)
    os.replace(tmp, current)
    if not built:
        print("kube-bins: up to date", file=sys.stderr)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
