#!/usr/bin/env python3
"""Fetch the dashboard's third-party browser files from the npm registry, once, at pinned versions.

The files are committed under ``src/csms/dashboard/static/vendor/<package>/`` with their LICENSE,
so csms never fetches anything at run time and no Node toolchain is needed. Each tarball is
checked against the registry's SRI integrity (sha512) and each extracted file against the sha256
pinned here; a mismatch stops the script with nothing written.

    .venv/bin/python scripts/vendor_assets.py          # re-fetch and verify
    .venv/bin/python scripts/vendor_assets.py --check  # verify the committed files only
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "src/csms/dashboard/static/vendor"


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    integrity: str  # the registry's dist.integrity of the tarball
    files: dict[str, str]  # path inside the tarball (under package/) -> sha256 of its bytes


ASSETS = (
    Asset(
        package="uplot",
        version="1.6.32",
        integrity="sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==",
        files={
            "dist/uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
            "dist/uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
            "LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
        },
    ),
)


def _tarball(asset: Asset) -> bytes:
    url = f"{REGISTRY}/{asset.package}/-/{asset.package}-{asset.version}.tgz"
    with urllib.request.urlopen(url, timeout=60) as response:
        data: bytes = response.read()
    algorithm, expected = asset.integrity.split("-", 1)
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{asset.package}@{asset.version}: tarball integrity mismatch")
    return data


def _files(asset: Asset, data: bytes) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name, sha256 in asset.files.items():
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise SystemExit(f"{asset.package}: {name} missing from the tarball")
            content = member.read()
            actual = hashlib.sha256(content).hexdigest()
            if sha256 and actual != sha256:
                raise SystemExit(f"{asset.package}: {name} sha256 {actual} != pinned {sha256}")
            if not sha256:
                sys.stderr.write(f"{asset.package}: {name} sha256 {actual} (pin it)\n")
            found[Path(name).name] = content
    return found


def _check(asset: Asset) -> None:
    for name, sha256 in asset.files.items():
        path = VENDOR / asset.package / Path(name).name
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"{path}: does not match the pinned sha256")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files only")
    args = parser.parse_args()
    for asset in ASSETS:
        if args.check:
            _check(asset)
            continue
        files = _files(asset, _tarball(asset))
        target = VENDOR / asset.package
        target.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (target / name).write_bytes(content)
        (target / "VERSION").write_text(f"{asset.package}@{asset.version} from {REGISTRY}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
