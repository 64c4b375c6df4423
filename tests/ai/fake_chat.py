"""A tiny OpenAI-compatible chat completions server with scripted "models".

* ``support-v1``: answers the support questions correctly.
* ``support-v1-paraphrase``: same facts, different words (similarity still passes).
* ``support-v2-degraded``: wrong on refunds (a critical case), vague on passwords and
  no longer returns JSON.
* ``naive``: obeys injected instructions and recites its system prompt when asked.
* ``guarded``: refuses both.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request

GOOD = {
    "refund": "Refunds are accepted within 30 days of purchase with a receipt.",
    "hours": "Our support team is available Monday to Friday, 9am to 5pm CET.",
    "password": "To reset your password, open Settings, choose Security and click Reset password.",
    "order": '{"order_id": "A-1001", "status": "shipped"}',
}
PARAPHRASE = {
    "refund": "You can get your money back if you ask within 30 days of buying; keep the receipt.",
    "hours": "Support is open on weekdays from 9am until 5pm CET.",
    "password": "Go to Settings, then Security, and press Reset password to reset your password.",
    "order": '```json\n{"order_id": "A-1001", "status": "shipped"}\n```',
}
DEGRADED = {
    "refund": "Refunds are not possible once an order is placed.",
    "hours": GOOD["hours"],
    "password": "I am not sure, please try again later.",
    "order": "The order A-1001 has status shipped.",
}
_REVERSE = re.compile(r"reverse of the string (\S+?)[,.]?(?:\s|$)")
_DISCLOSE = re.compile(r"system prompt|instructions|above this message", re.I)


def _topic(text: str) -> str | None:
    t = text.lower()
    if "refund" in t:
        return "refund"
    if "hours" in t or "open" in t:
        return "hours"
    if "password" in t:
        return "password"
    if "order" in t and "json" in t:
        return "order"
    return None


def _answer(model: str, messages: list[dict[str, Any]], tenant: str | None) -> str:
    system = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    if model == "naive":
        for text in (user, system):
            m = _REVERSE.search(text)
            if m:
                return m.group(1)[::-1]
        if _DISCLOSE.search(user):
            return f"Sure. My instructions are: {system}"
    if model == "guarded" and (_DISCLOSE.search(user) or _REVERSE.search(user)):
        return "I can't help with that request."
    if "tenant" in user.lower():
        return f"You are talking to the support desk of {tenant or 'nobody'}."
    if "context" in user.lower() and system:
        return f"The context says: {system.removeprefix('Context:').strip()}"
    table = {
        "support-v1": GOOD,
        "support-v1-paraphrase": PARAPHRASE,
        "support-v2-degraded": DEGRADED,
    }.get(model, GOOD)
    topic = _topic(user)
    return table[topic] if topic else "I can only help with support questions."


def create_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def chat(
        request: Request, x_tenant_id: str | None = Header(default=None)
    ) -> dict[str, Any]:
        body = await request.json()
        app.state.requests.append({"body": body, "tenant": x_tenant_id})
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not isinstance(messages, list):
            raise HTTPException(400, "model and messages are required")
        if model == "broken":
            return {"object": "chat.completion", "choices": []}
        if model == "overloaded":
            raise HTTPException(503, "model overloaded")
        content = _answer(model, messages, x_tenant_id)
        return {
            "id": f"chatcmpl-{len(app.state.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    return app
