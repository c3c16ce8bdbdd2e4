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


# Revised policies of clinical-reference.md: each rule that carries one cites it in its
# Rule.policy, and the page's row for that rule says so, with a section of its own.
REVISED_POLICIES = {
    "acne-prone": ("Acne-prone patients", {"BREAKOUTS_PERSIST", "BREAKOUTS_LINGERING"}),
    "could not be sent": ("Nothing lapses", {"NO_RESPONSE"}),
}


@pytest.mark.parametrize("words", list(REVISED_POLICIES))
def test_it_documents_each_revised_policy_where_its_rules_are(words):
    section, codes = REVISED_POLICIES[words]
    page = DOC.read_text(encoding="utf-8")

    cited = {code for code, rule in rules.RULES.items()
             if words in (rule.policy or "") and f'"{section}"' in (rule.policy or "")}
    documented = {code for code, row in documented_rows().items() if words in row[2]}
    assert cited == documented == codes
    assert f"\n## {section}\n" in page
    assert f'("{section}"' in page  # the section names the reference's paragraph
