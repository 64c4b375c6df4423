"""Request bodies of the AI endpoints as a remote `changegate ai` sends them, made by the real
runners against in-process targets (used by the authorization matrix)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from changegate.ai.injection import observe_injection
from changegate.ai.isolation import observe_isolation
from changegate.ai.regression import collect_outputs
from changegate.ai.suite import load_suite
from changegate.ai.targets import CallableTarget
from tests.ai.fake_targets import InProcessRag, answer

SUITE = Path(__file__).parent / "data" / "suite_fast.yaml"
PROMPTFOO = Path(__file__).parents[1] / "fixtures" / "results" / "promptfoo_before.json"


def regress() -> dict[str, Any]:
    outputs = collect_outputs(load_suite(SUITE), CallableTarget(answer, label="good"))
    return {
        "suite_text": SUITE.read_text(),
        "suite_source": SUITE.name,
        "phase": "pre",
        "after": {"label": "good", "outputs": outputs},
    }


def isolation() -> dict[str, Any]:
    rag = InProcessRag(tenant_filter=True)
    seen = observe_isolation(rag, ["acme", "globex"], probes_per_pair=1, seed=1)
    return {"observation": seen.to_dict()}


def injection() -> dict[str, Any]:
    return {"observation": observe_injection(InProcessRag(tenant_filter=True), seed=1).to_dict()}


def imported() -> dict[str, Any]:
    content = base64.b64encode(PROMPTFOO.read_bytes()).decode()
    return {"content_base64": content, "source": PROMPTFOO.name, "phase": "pre"}


def assessment() -> dict[str, Any]:
    ratings = {"prompt_injection": "low", "data_leakage": "low", "content_filter": "low"}
    return {"ratings": ratings, "notes": "reviewed"}
