"""axe-core (npm, package.json) run in a page: its accessibility violations.

The patient's pages allow no script at all (Content-Security-Policy), so the
page that runs axe is opened in a context that bypasses the policy; what the
patient's browser gets is unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import IN_CI

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("critical", "serious")


def axe_script() -> Path:
    if not AXE_SCRIPT.exists():
        reason = f"axe-core not installed at {AXE_SCRIPT} (npm ci)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE_SCRIPT


def axe_violations(page, *, impacts: tuple[str, ...] | None = None) -> list[str]:
    """Each violation as one readable line: rule, impact, the first elements it names."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("""async () => {
        const results = await axe.run(document, {resultTypes: ['violations']});
        return results.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
        }));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'])}"
            for v in result if impacts is None or v["impact"] in impacts]
