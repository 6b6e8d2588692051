"""File-transfer tokens and status phases; critical security events; certificate type spelling."""

from __future__ import annotations

import pytest

from csms.blocks.security.certificate_types import from_wire, to_wire
from csms.domain.errors import InvalidPayload
from csms.domain.files import (
    TransferKind,
    TransferPhase,
    new_token,
    phase_of,
    safe_filename,
    token_digest,
)
from csms.domain.security import is_critical
from csms.rpc import OcppVersion


def test_tokens_are_long_random_and_stored_only_as_a_digest() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    token = tokens.pop()
    assert len(token) >= 43  # 256 bits, base64url
    digest = token_digest(token)
    assert len(digest) == 64 and token not in digest
    assert token_digest(token) == digest


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ("Requested", TransferPhase.REQUESTED),
        ("Accepted", TransferPhase.REQUESTED),
        ("AcceptedCanceled", TransferPhase.REQUESTED),
        ("Rejected", TransferPhase.REJECTED),
        ("InvalidCertificate", TransferPhase.REJECTED),
        ("RevokedCertificate", TransferPhase.REJECTED),
        # 1.6 FirmwareStatus / DiagnosticsStatus
        ("Downloading", TransferPhase.IN_PROGRESS),
        ("Downloaded", TransferPhase.IN_PROGRESS),
        ("Installing", TransferPhase.IN_PROGRESS),
        ("Installed", TransferPhase.SUCCEEDED),
        ("DownloadFailed", TransferPhase.FAILED),
        ("InstallationFailed", TransferPhase.FAILED),
        ("Uploading", TransferPhase.IN_PROGRESS),
        ("Uploaded", TransferPhase.SUCCEEDED),
        ("UploadFailed", TransferPhase.FAILED),
        ("Idle", TransferPhase.IDLE),
        # security extension / 2.x
        ("DownloadScheduled", TransferPhase.IN_PROGRESS),
        ("SignatureVerified", TransferPhase.IN_PROGRESS),
        ("InstallRebooting", TransferPhase.IN_PROGRESS),
        ("InvalidSignature", TransferPhase.FAILED),
        ("InstallVerificationFailed", TransferPhase.FAILED),
        ("UploadFailure", TransferPhase.FAILED),
        ("BadMessage", TransferPhase.FAILED),
        ("NotSupportedOperation", TransferPhase.FAILED),
        ("PermissionDenied", TransferPhase.FAILED),
        ("CommandFailed", TransferPhase.FAILED),
    ],
)
def test_every_versions_status_maps_to_one_phase(status: str, phase: TransferPhase) -> None:
    assert phase_of(status) is phase


def test_only_uploads_accept_uploads() -> None:
    assert not TransferKind.FIRMWARE.upload
    assert TransferKind.DIAGNOSTICS.upload and TransferKind.LOG.upload


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("fw-1.2.bin", "fw-1.2.bin"),
        ("../../etc/passwd", "passwd"),
        ("C:\\logs\\diag 1.zip", "diag_1.zip"),
        ("..", "file"),
        ("", "file"),
        ("a" * 300, "a" * 100),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_critical_events_follow_each_versions_list() -> None:
    assert is_critical("TamperDetectionActivated", v16=True)
    assert is_critical("StartupOfTheDevice", v16=False)
    assert not is_critical("FailedToAuthenticateAtCentralSystem", v16=True)
    # 1.6 whitepaper §8 says No, 2.0.1 Appendices §1 says Yes.
    assert not is_critical("InvalidTLSVersion", v16=True)
    assert is_critical("InvalidTLSVersion", v16=False)


def test_certificate_types_are_spelled_per_version() -> None:
    assert to_wire("CSMSRootCertificate", OcppVersion.V16) == "CentralSystemRootCertificate"
    assert to_wire("CSMSRootCertificate", OcppVersion.V201) == "CSMSRootCertificate"
    assert from_wire("CentralSystemRootCertificate", OcppVersion.V16) == "CSMSRootCertificate"
    assert from_wire("V2GRootCertificate", OcppVersion.V21) == "V2GRootCertificate"
    with pytest.raises(InvalidPayload):
        to_wire("V2GRootCertificate", OcppVersion.V16)
