"""Cluster settings (issue 11): off by default; every bad value refused with one line naming it."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags as apply_serve_flags
from csms.cli import build_parser
from csms.config import ClusterSettings, SettingsError, load_settings


def test_off_by_default_one_process() -> None:
    assert load_settings({}).cluster == ClusterSettings(url=None, role="all")


def test_environment_and_flags() -> None:
    env = {
        "CSMS_CLUSTER_URL": "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
        "CSMS_CLUSTER_ROLE": "gateway",
        "CSMS_CLUSTER_NODE_ID": "gw-1",
        "CSMS_CLUSTER_LEASE": "6",
        "CSMS_CLUSTER_REQUEST_MARGIN": "2.5",
    }
    cluster = load_settings(env).cluster
    assert cluster == ClusterSettings(
        url=env["CSMS_CLUSTER_URL"], role="gateway", node_id="gw-1", lease=6.0, request_margin=2.5
    )
    args = build_parser().parse_args(
        ["serve", "--cluster-url", "nats://127.0.0.1:4222", "--role", "api", "--node-id", "api-1"]
    )
    flagged = apply_serve_flags(load_settings({}), args).cluster
    assert (flagged.url, flagged.role, flagged.node_id) == ("nats://127.0.0.1:4222", "api", "api-1")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CSMS_CLUSTER_URL": "http://x:4222"}, "CSMS_CLUSTER_URL (--cluster-url)"),
        ({"CSMS_CLUSTER_ROLE": "worker"}, "CSMS_CLUSTER_ROLE (--role)"),
        ({"CSMS_CLUSTER_ROLE": "gateway"}, "need CSMS_CLUSTER_URL"),
        (
            {"CSMS_CLUSTER_URL": "nats://x:1", "CSMS_CLUSTER_ROLE": "api", "CSMS_API_ENABLED": "0"},
            "api needs the HTTP API",
        ),
        ({"CSMS_CLUSTER_LEASE": "0.5"}, "CSMS_CLUSTER_LEASE"),
        ({"CSMS_CLUSTER_REQUEST_MARGIN": "0"}, "CSMS_CLUSTER_REQUEST_MARGIN"),
        ({"CSMS_CLUSTER_NODE_ID": "a b"}, "CSMS_CLUSTER_NODE_ID"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)
