"""scripts/conformance.py lists every Part 6 CSMS test case and keeps docs/conformance.md fresh."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "conformance.py"


@pytest.fixture(scope="module")
def conformance() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("conformance", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_case_list_has_all_135_csms_cases(conformance: ModuleType) -> None:
    cases = conformance.read_cases()
    assert len(cases) == len({case.id for case in cases}) == 135
    assert all(case.id.endswith("_CSMS") and case.title for case in cases)
    by_id = {case.id: case for case in cases}
    assert by_id["TC_B_01_CSMS"].block == "B Provisioning"
    assert by_id["TC_B_01_CSMS"].title == "Cold Boot Charging Station - Accepted"


def test_the_case_list_matches_the_spec_when_present(conformance: ModuleType) -> None:
    if not conformance.DEFAULT_SPEC.exists():
        pytest.skip(f"{conformance.DEFAULT_SPEC} is not on this machine")
    extracted = conformance.extract(conformance.DEFAULT_SPEC.read_text(encoding="utf-8"))
    assert extracted == conformance.read_cases()


def test_extract_reads_tables_sections_and_wrapped_titles(conformance: ModuleType) -> None:
    text = "\n".join(
        [
            "3.3. B Provisioning",
            "Table 1. Test Case Id: TC_B_01_CSMS",
            "Test case name        Cold Boot - Accepted",
            "Test case Id          TC_B_01_CSMS",
            "Table 2. Test Case Id: TC_B_02_CSMS",
            "Test case name        A long name -",
            "                      wrapped",
            "Test case Id          TC_B_02_CSMS",
            "Table 3. Test Case Id: TC_B_03_CS",
        ]
    )
    assert conformance.extract(text) == [
        conformance.Case("TC_B_01_CSMS", "B Provisioning", "Cold Boot - Accepted"),
        conformance.Case("TC_B_02_CSMS", "B Provisioning", "A long name - wrapped"),
    ]


def test_render_names_tests_notes_and_gaps(conformance: ModuleType) -> None:
    cases = [
        conformance.Case("TC_B_10_CSMS", "B Provisioning", "Ten"),
        conformance.Case("TC_B_02_CSMS", "B Provisioning", "Two | pipes"),
        conformance.Case("TC_P_02_CSMS", "P DataTransfer", "DT"),
    ]
    text = conformance.render(
        cases,
        {"TC_B_10_CSMS": ["tests/a.py::test_TC_B_10_CSMS_x", "tests/b.py::test_TC_B_10_CSMS_y"]},
        {"TC_P_02_CSMS": "n/a: reason"},
    )
    rows = [line for line in text.splitlines() if line.startswith("| TC_")]
    assert rows == [
        "| TC_B_02_CSMS | Two \\| pipes | B Provisioning | not yet: no test |",
        "| TC_B_10_CSMS | Ten | B Provisioning "
        "| `tests/a.py::test_TC_B_10_CSMS_x`<br>`tests/b.py::test_TC_B_10_CSMS_y` |",
        "| TC_P_02_CSMS | DT | P DataTransfer | n/a: reason |",
    ]
    assert "**1 of 3** cases have a test; 1 do not apply; 1 not yet." in text


def test_find_tests_matches_names_containing_the_id(
    conformance: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "tests" / "x").mkdir(parents=True)
    (tmp_path / "tests" / "x" / "test_a.py").write_text(
        "async def test_TC_G_03_CSMS_evse(server):\n    pass\n"
        "def test_TC_P_02_CSMS():\n    pass\n"
        "def helper_TC_B_01_CSMS():\n    pass\n"
    )
    found = conformance.find_tests(tmp_path / "tests")
    assert found == {
        "TC_G_03_CSMS": ["tests/x/test_a.py::test_TC_G_03_CSMS_evse"],
        "TC_P_02_CSMS": ["tests/x/test_a.py::test_TC_P_02_CSMS"],
    }


def test_generated_doc_is_up_to_date(conformance: ModuleType) -> None:
    expected = conformance.render(conformance.read_cases(), conformance.find_tests())
    assert conformance.DOC_PATH.read_text(encoding="utf-8") == expected, (
        "run: python scripts/conformance.py --write"
    )
