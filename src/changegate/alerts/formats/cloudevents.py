"""CloudEvents 1.0, JSON event format, structured content mode.

The whole event (context attributes and ``data``) is the HTTP body, sent as
``application/cloudevents+json``. ``id`` is the delivery's ``webhook-id``, so a retry carries
the same event id, and ``time`` is when the violation was recorded; the body of a delivery is
therefore the same bytes on every attempt.
"""

from __future__ import annotations

import json
from typing import Any

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
#: the reverse-DNS prefix of every event type changegate emits
TYPE_PREFIX = "dev.changegate.alert."


def event(alert: dict[str, Any], *, event_id: str, source: str) -> dict[str, Any]:
    """The structured CloudEvent of one alert (``alert`` as the alert's JSON form)."""
    return {
        "specversion": SPECVERSION,
        "id": event_id,
        "source": source,
        "type": TYPE_PREFIX + str(alert["kind"]),
        "subject": f"alert/{alert['id']}",
        "time": alert["created_at"],
        "datacontenttype": "application/json",
        "data": alert,
    }


def body(alert: dict[str, Any], *, event_id: str, source: str) -> bytes:
    """The event as JSON bytes (sorted keys: the same alert always yields the same bytes)."""
    return json.dumps(
        event(alert, event_id=event_id, source=source), sort_keys=True, separators=(",", ":")
    ).encode()
