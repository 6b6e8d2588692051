"""The built-in file service over HTTP: firmware upload and download, station uploads, limits,
and that a URL only ever serves its own request in its own direction."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from csms.blocks.file_service import MAX_FILES_PER_REQUEST, FileService
from csms.domain.files import TransferKind
from tests.integration.harness import RunningCsms, running_csms, settings_for


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        api=dataclasses.replace(settings.api, token="operator-secret"),
        files=dataclasses.replace(settings.files, max_upload_size=100_000),
    )
    async with running_csms(settings) as running:
        await running.add_station("CP-A")
        await running.add_station("CP-B")
        yield running


OPERATOR = {"Authorization": "Bearer operator-secret"}


def _service(server: RunningCsms) -> FileService:
    assert server.csms.file_service is not None
    return server.csms.file_service


async def _firmware(api: httpx.AsyncClient, body: bytes) -> dict[str, object]:
    response = await api.post(
        "/api/v1/firmware", params={"filename": "image.bin"}, content=body, headers=OPERATOR
    )
    assert response.status_code == 201, response.text
    image: dict[str, object] = response.json()
    return image


def _path(url: str) -> str:
    return httpx.URL(url).path


async def test_firmware_is_stored_listed_and_served_with_ranges(server: RunningCsms) -> None:
    body = os.urandom(50_000)
    async with server.api() as api:
        image = await _firmware(api, body)
        assert image["sha256"] == hashlib.sha256(body).hexdigest()
        listed = (await api.get("/api/v1/firmware", headers=OPERATOR)).json()
        assert [i["id"] for i in listed] == [image["id"]]
        transfer = await _service(server).new_transfer(
            "CP-A", TransferKind.FIRMWARE, "UpdateFirmware", firmware_id=str(image["id"])
        )
        assert transfer.url.startswith(server.api_url + "/files/")
        assert transfer.url.endswith("/image.bin")
        # No bearer token: the URL token is the station's credential.
        whole = await api.get(_path(transfer.url))
        assert whole.status_code == 200
        assert whole.content == body
        assert whole.headers["x-content-sha256"] == image["sha256"]
        part = await api.get(_path(transfer.url), headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.content == body[100:200]
        head = await api.head(_path(transfer.url))
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(body)


async def test_operator_routes_need_the_token_and_file_urls_do_not(server: RunningCsms) -> None:
    async with server.api(authenticated=False) as api:
        assert (await api.post("/api/v1/firmware", content=b"x")).status_code == 401
        assert (await api.get("/api/v1/stations/CP-A/uploads")).status_code == 401
        assert (await api.get("/files/not-a-token/x")).status_code == 404
        spec = (await api.get("/openapi.json")).json()
        assert {"/files/{token}/{name}", "/api/v1/firmware", "/api/v1/security-events"} <= set(
            spec["paths"]
        )


async def test_a_url_serves_only_its_own_request_and_direction(server: RunningCsms) -> None:
    service = _service(server)
    async with server.api() as api:
        image = await _firmware(api, b"firmware")
        download = await service.new_transfer(
            "CP-A", TransferKind.FIRMWARE, "UpdateFirmware", firmware_id=str(image["id"])
        )
        upload = await service.new_transfer("CP-B", TransferKind.DIAGNOSTICS, "GetDiagnostics")
        # A download URL takes no uploads; an upload URL serves nothing, not even what it received.
        assert (await api.put(_path(download.url), content=b"evil")).status_code == 404
        assert (await api.put(_path(upload.url), content=b"diag")).status_code == 201
        assert (await api.get(_path(upload.url))).status_code == 404
        assert (await api.get(_path(upload.url) + "/anything")).status_code == 404
        # A made-up or altered token is unknown.
        token = _path(download.url).split("/")[2]
        assert (await api.get(f"/files/{token[:-1]}x/image.bin")).status_code == 404
        uploads_a = (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json()
        uploads_b = (await api.get("/api/v1/stations/CP-B/uploads", headers=OPERATOR)).json()
        assert uploads_a == []
        assert [u["request_id"] for u in uploads_b] == [upload.request.id]


async def test_uploads_put_and_multipart_post_are_stored_with_size_and_hash(
    server: RunningCsms,
) -> None:
    service = _service(server)
    async with server.api() as api:
        put = await service.new_transfer("CP-A", TransferKind.DIAGNOSTICS, "GetDiagnostics")
        body = os.urandom(20_000)
        reply = await api.put(_path(put.url) + "/diag.tar.gz", content=body)
        assert reply.status_code == 201
        assert reply.json() == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        post = await service.new_transfer(
            "CP-A", TransferKind.LOG, "GetLog", log_type="SecurityLog"
        )
        form = await api.post(_path(post.url), files={"file": ("sec.log", b"line\n" * 100)})
        assert form.status_code == 201
        uploads = (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json()
        assert [(u["filename"], u["size"]) for u in uploads] == [
            ("sec.log", 500),
            ("diag.tar.gz", len(body)),
        ]
        content = await api.get(f"/api/v1/uploads/{uploads[1]['id']}/content", headers=OPERATOR)
        assert content.content == body


async def test_uploads_over_the_limit_are_refused_and_not_kept(
    server: RunningCsms, tmp_path: Path
) -> None:
    service = _service(server)
    async with server.api() as api:
        transfer = await service.new_transfer("CP-A", TransferKind.DIAGNOSTICS, "GetDiagnostics")
        declared = await api.put(_path(transfer.url), content=os.urandom(100_001))
        assert declared.status_code == 413

        async def undeclared() -> AsyncIterator[bytes]:  # chunked: no Content-Length
            for _ in range(30):
                yield b"z" * 4096

        streamed = await api.put(_path(transfer.url), content=undeclared())
        assert streamed.status_code == 413
        assert (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json() == []
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


async def test_an_upload_url_takes_a_bounded_number_of_files(server: RunningCsms) -> None:
    service = _service(server)
    async with server.api() as api:
        transfer = await service.new_transfer("CP-A", TransferKind.LOG, "GetLog")
        for i in range(MAX_FILES_PER_REQUEST):
            assert (await api.put(_path(transfer.url), content=b"%d" % i)).status_code == 201
        full = await api.put(_path(transfer.url), content=b"more")
        assert full.status_code == 409
        assert full.json()["type"] == "urn:csms:problem:upload-slots-taken"


async def test_urls_expire(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(settings, files=dataclasses.replace(settings.files, url_ttl=0.3))
    async with running_csms(settings) as running, running.api() as api:
        await running.add_station("CP-A")
        transfer = await _service(running).new_transfer(
            "CP-A", TransferKind.DIAGNOSTICS, "GetDiagnostics"
        )
        await asyncio.sleep(0.4)
        assert (await api.put(_path(transfer.url), content=b"late")).status_code == 404


async def test_firmware_commands_refuse_unknown_images_and_offline_stations(
    server: RunningCsms,
) -> None:
    async with server.api() as api:
        offline = await api.post(
            "/api/v1/stations/CP-A/firmware-update",
            json={"firmware_id": "nope", "retrieve_date": "2030-01-01T00:00:00Z"},
            headers=OPERATOR,
        )
        assert offline.status_code == 409
        unknown = await api.post("/api/v1/stations/CP-Z/diagnostics", json={}, headers=OPERATOR)
        assert unknown.status_code == 404
        assert (await api.get("/api/v1/file-requests/999", headers=OPERATOR)).status_code == 404
