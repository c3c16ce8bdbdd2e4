"""The clinicians' page of escalation rules must say what the code does."""

from __future__ import annotations

from pathlib import Path

import pytest

from followups.assessment import rules

DOC = Path(__file__).resolve().parents[3] / "docs" / "escalation-rules.md"


def documented_rows() -> dict[str, list[str]]:
    """Each rule row of the table, by code: ``| `CODE` | level | finding | document | fact |``."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        code = cells[0].strip("`")
        assert code not in rows, f"{code} is documented twice"
        rows[code] = cells
    return rows


def test_it_documents_every_rule_and_no_other():
    assert set(documented_rows()) == set(rules.RULES)


@pytest.mark.parametrize("code", list(rules.RULES))
def test_it_documents_the_level_each_rule_raises(code):
    row = documented_rows()[code]

    assert row[1] == rules.RULES[code].level.label


@pytest.mark.parametrize("code", list(rules.RULES))
def test_it_documents_the_source_document_of_each_rule(code):
    row = documented_rows()[code]
    rule = rules.RULES[code]

    for document in (rule.document, *(extra for extra, _ in rule.also_cites)):
        assert document in row[3]
