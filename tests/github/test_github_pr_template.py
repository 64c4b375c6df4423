from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from changegate.github.pr_template import RiskAssessment, parse_pr_body

TEMPLATE = Path(__file__).resolve().parents[2] / "integrations/github/pull_request_template.md"

FILLED = """\
## Description

Rotate the TLS certificate of the public API.

It expires on 2026-04-01.

## Class

- [ ] standard: low-risk
- [x] normal: planned change
- [ ] emergency: fixes an active incident

## Risk

### Availability
- [x] low
- [ ] medium
- [ ] high

Notes:

### Security
- [ ] low
- [ ] medium
- [X] high

Notes: a wrong chain breaks every client; validated on staging with openssl s_client.

### Data impact
- [x] low
- [ ] medium
- [ ] high

## Rollback plan

Re-deploy the previous certificate from the secret store (`tls/previous`), 2 minutes.

## Justification for emergencies

"""


def test_the_shipped_template_has_every_section_and_parses_as_all_missing() -> None:
    text = TEMPLATE.read_text()
    for heading in (
        "## Description",
        "## Class",
        "## Risk",
        "### Availability",
        "### Security",
        "### Data impact",
        "## Rollback plan",
        "## Justification for emergencies",
    ):
        assert heading in text
    for choice in ("standard", "normal", "emergency"):
        assert f"- [ ] {choice}" in text
    result = parse_pr_body(text)
    assert result.missing == (
        "description",
        "class",
        "risk.availability",
        "risk.security",
        "risk.data_impact",
        "rollback_plan",
    )
    assert result.problems[0] == "Description: empty; say what changes and why"
    assert result.problems[1] == "Class: empty; tick exactly one of standard, normal, emergency"
    assert "Risk, Security: no level; tick one of low, medium, high" in result.problems
    assert not result.complete


def test_a_filled_body() -> None:
    result = parse_pr_body(FILLED)
    assert result.complete, result.problems
    assert result.description == (
        "Rotate the TLS certificate of the public API.\n\nIt expires on 2026-04-01."
    )
    assert result.change_class == "normal"
    assert result.risk == {
        "availability": RiskAssessment("low", ""),
        "security": RiskAssessment(
            "high",
            "a wrong chain breaks every client; validated on staging with openssl s_client.",
        ),
        "data_impact": RiskAssessment("low", ""),
    }
    assert result.rollback_plan is not None and "tls/previous" in result.rollback_plan
    assert result.justification is None  # not needed for a normal change
    assert json.loads(json.dumps(result.to_dict()))["risk"]["security"]["level"] == "high"


def test_the_filled_template_in_the_payload_files(load_payload: Callable[[str], bytes]) -> None:
    body = json.loads(load_payload("pull_request.opened.json"))["pull_request"]["body"]
    result = parse_pr_body(body)
    assert result.complete
    assert result.change_class == "normal"
    assert result.risk["availability"].level == "medium"


@pytest.mark.parametrize("body", [None, "", "   \n", "Just fixing a typo."])
def test_no_template_at_all(body: str | None) -> None:
    result = parse_pr_body(body)
    assert "description" in result.missing and "rollback_plan" in result.missing
    assert result.problems[0] == "Description: section missing; say what changes and why"
    assert "Risk, Availability: section missing; tick one of low, medium, high" in result.problems


def test_missing_and_empty_sections_are_reported_not_raised() -> None:
    body = FILLED.replace(
        "Re-deploy the previous certificate from the secret store (`tls/previous`), 2 minutes.",
        "<!-- todo -->",
    )
    body = body.split("## Description")[0] + "## Class" + body.split("## Class")[1]
    result = parse_pr_body(body)
    assert result.missing == ("description", "rollback_plan")
    assert result.problems == (
        "Description: section missing; say what changes and why",
        "Rollback plan: empty; say how to undo this change",
    )


def test_notes_are_required_for_medium_and_high_risk() -> None:
    body = FILLED.replace(
        "Notes: a wrong chain breaks every client; validated on staging with openssl s_client.",
        "Notes:",
    )
    result = parse_pr_body(body)
    assert result.missing == ("risk.security.notes",)
    assert result.problems == (
        "Risk, Security: notes are required for a high risk; "
        "say what could go wrong and how it is mitigated",
    )


def test_emergency_needs_a_justification() -> None:
    body = FILLED.replace("- [x] normal", "- [ ] normal").replace(
        "- [ ] emergency", "- [x] emergency"
    )
    result = parse_pr_body(body)
    assert result.change_class == "emergency"
    assert result.missing == ("justification",)
    assert result.problems[0].startswith("Justification for emergencies: empty;")
    justified = body + "Incident INC-7: the certificate expired at 03:00 and clients fail.\n"
    result = parse_pr_body(justified)
    assert result.complete and result.justification is not None


def test_two_classes_ticked_is_ambiguous() -> None:
    body = FILLED.replace("- [ ] emergency", "- [x] emergency")
    result = parse_pr_body(body)
    assert result.change_class is None
    assert "class" in result.missing
    assert "Class: more than one ticked (normal, emergency); tick exactly one" in result.problems


def test_two_levels_ticked_takes_the_higher() -> None:
    body = FILLED.replace(
        "### Availability\n- [x] low\n- [ ] medium", "### Availability\n- [x] low\n- [x] medium"
    )
    assert parse_pr_body(body).risk["availability"].level == "medium"


def test_hand_written_bodies() -> None:
    body = """\
# Summary
Bump the embedding model.

### Details (nested under the summary)
Chunk size stays at 512.

**Class:** Normal

# Risk assessment
- Availability: low
- **Security**: medium — re-embedding reads tenant data; tenant filter verified
- Data impact - high, all vectors are rebuilt overnight

# Rollback
Point `EMBEDDING_MODEL` back at v2.
"""
    result = parse_pr_body(body)
    assert result.complete, result.problems
    assert result.description is not None
    assert "Chunk size stays at 512." in result.description
    assert result.change_class == "normal"
    assert result.risk["availability"] == RiskAssessment("low", "")
    assert result.risk["security"] == RiskAssessment(
        "medium", "re-embedding reads tenant data; tenant filter verified"
    )
    assert result.risk["data_impact"] == RiskAssessment("high", "all vectors are rebuilt overnight")
    assert result.rollback_plan == "Point `EMBEDDING_MODEL` back at v2."


def test_risk_as_a_table_and_crlf_line_endings() -> None:
    body = (
        "## Description\r\nSwap providers.\r\n## Class\r\nemergency\r\n"
        "## Risk\r\n| Dimension | Level | Notes |\r\n|---|---|---|\r\n"
        "| Availability | high | provider outage |\r\n| Security | low | |\r\n"
        "| Data impact | low | |\r\n"
        "## Rollback plan\r\nSwitch back.\r\n"
        "## Justification for emergencies\r\nINC-9: primary provider down.\r\n"
    )
    result = parse_pr_body(body)
    assert result.complete, result.problems
    assert result.change_class == "emergency"
    assert result.risk["availability"] == RiskAssessment("high", "provider outage")


def test_headings_inside_code_blocks_and_comments_are_ignored() -> None:
    body = FILLED.replace(
        "It expires on 2026-04-01.",
        "It expires on 2026-04-01.\n\n```markdown\n## Rollback plan\nnot a heading\n```\n"
        "<!--\n## Class\n- [x] emergency\n-->",
    )
    result = parse_pr_body(body)
    assert result.change_class == "normal"
    assert result.description is not None and "not a heading" in result.description
    assert result.rollback_plan is not None and result.rollback_plan.startswith("Re-deploy")


def test_custom_classes_from_the_policy() -> None:
    body = FILLED.replace("- [x] normal: planned change", "- [x] major: planned change")
    assert parse_pr_body(body).change_class is None
    result = parse_pr_body(body, classes=("minor", "major"))
    assert result.change_class == "major"


def test_single_dimension_headings_under_other_names() -> None:
    body = FILLED.replace("### Security", "### Risk: security")
    assert parse_pr_body(body).risk["security"].level == "high"
