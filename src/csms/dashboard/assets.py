"""The dashboard's static files, read from the installed package (no CDN, no build step)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Final

from fastapi import HTTPException, Response

_MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Assets are named by the package version in their URL, so browsers may keep them a day.
_CACHE: Final = "public, max-age=86400"


@dataclass(frozen=True, slots=True)
class StaticFiles:
    """The files under ``static/`` (and ``static/vendor/<package>/``), loaded once: a fixed table,
    so no request path ever reaches the file system."""

    files: dict[str, tuple[bytes, str]]

    @classmethod
    def load(cls) -> StaticFiles:
        root = resources.files("csms.dashboard") / "static"
        found: dict[str, tuple[bytes, str]] = {}
        for entry in root.iterdir():
            _add(found, entry.name, entry)
            if entry.name == "vendor":
                for package in entry.iterdir():
                    for item in package.iterdir():
                        _add(found, f"vendor/{package.name}/{item.name}", item)
        return cls(found)

    def response(self, name: str) -> Response:
        """The file ``name``, or 404 for anything not in the table."""
        found = self.files.get(name)
        if found is None:
            raise HTTPException(status_code=404)
        content, media_type = found
        return Response(content, media_type=media_type, headers={"Cache-Control": _CACHE})


def _add(found: dict[str, tuple[bytes, str]], name: str, entry: resources.abc.Traversable) -> None:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if entry.is_file() and suffix in _MEDIA_TYPES:
        found[name] = (entry.read_bytes(), _MEDIA_TYPES[suffix])
