"""A Slack incoming-webhook message for one alert: ``text`` (the notification line) and
Block Kit blocks with what a person needs to start the investigation."""

from __future__ import annotations

import json
from typing import Any


def message(alert: dict[str, Any], *, link: str | None) -> dict[str, Any]:
    title = f":rotating_light: changegate alert #{alert['id']}: {alert['kind']}"
    detail = f"*{alert['summary']}*\nby {alert['actor']} at {alert['created_at']}"
    if alert.get("change"):
        detail += f" · {alert['change']}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": detail[:3000]}},
    ]
    if link:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{link}|Open the investigation>"}],
            }
        )
    return {"text": f"{title}: {alert['summary']}"[:3000], "blocks": blocks}


def body(alert: dict[str, Any], *, link: str | None) -> bytes:
    return json.dumps(message(alert, link=link), sort_keys=True).encode()
