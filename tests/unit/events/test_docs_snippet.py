"""The receiver-side verification snippet of docs/api.md accepts what csms signs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from csms.domain.webhooks import sign

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def test_the_documented_verify_accepts_csms_signatures_and_refuses_replays() -> None:
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the snippet as published
    verify = namespace["verify"]
    body = b'{"id":1,"type":"station.boot"}'
    now = int(time.time())
    assert verify("whsec_k", sign("whsec_k", now, body), body)
    assert not verify("whsec_k", sign("whsec_k", now - 600, body), body)
    assert not verify("whsec_other", sign("whsec_k", now, body), body)
