"""Targets from command-line options: a chat endpoint, a callable, or a RAG service.

``changegate ai regress`` runs chat suites; pointed at a RAG service (``--interface rag``)
each case becomes a ``/query`` as the case's tenant and the answer is what the assertions
check, so the same suite guards a retrieval pipeline. Pure: no database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from changegate.ai.errors import TargetError
from changegate.ai.suite import Context
from changegate.ai.targets import (
    CallableTarget,
    ChatCompletionsTarget,
    HttpRagTarget,
    ObjectRagTarget,
    as_rag_target,
)

Interface = Literal["auto", "chat", "rag"]
INTERFACES: tuple[str, ...] = ("auto", "chat", "rag")
#: the tenant a RAG query runs as when a suite case names none
DEFAULT_TENANT = "default"


@dataclass
class RagChatTarget:
    """A RAG service as a chat target: the input is the question, the tenant the case's."""

    rag: HttpRagTarget | ObjectRagTarget
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            self.label = f"rag @ {self.rag.label}"

    def complete(self, input: str, *, tenant: str | None = None, context: Context = None) -> str:
        return self.rag.query(tenant or DEFAULT_TENANT, input).answer


def _api_key(env_var: str | None) -> str | None:
    if not env_var:
        return None
    value = os.environ.get(env_var)
    if not value:
        raise TargetError(
            f"--api-key-env {env_var}: the environment variable is not set; export it first",
            field="api_key_env",
        )
    return value


def _system_prompt(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(
            f"--system-prompt {path}: cannot read the file ({exc})", field="system_prompt"
        ) from exc


def _check_interface(interface: str) -> None:
    if interface not in INTERFACES:
        raise TargetError(
            f"--interface {interface!r}: use one of {', '.join(INTERFACES)}", field="interface"
        )


def chat_target(
    spec: str,
    *,
    model: str | None = None,
    interface: str = "chat",
    api_key_env: str | None = None,
    system_prompt: Path | None = None,
) -> ChatCompletionsTarget | CallableTarget | RagChatTarget:
    """A target for regression suites.

    ``chat`` (default): an OpenAI-compatible URL (``--model`` required) or a
    ``module:function`` callable. ``rag``: a RAG service URL or ``module:object``.
    """
    _check_interface(interface)
    if interface == "rag":
        if model or system_prompt:
            raise TargetError(
                "--model and --system-prompt apply to chat targets; a RAG service uses its own",
                field="interface",
            )
        return RagChatTarget(as_rag_target(spec))
    if spec.startswith(("http://", "https://")):
        if not model:
            raise TargetError(
                f"target {spec!r} is a chat completions URL, so --model is required "
                "(or use --interface rag for a RAG service)",
                field="model",
            )
        return ChatCompletionsTarget(
            url=spec,
            model=model,
            api_key=_api_key(api_key_env),
            system_prompt=_system_prompt(system_prompt),
        )
    if model or system_prompt:
        raise TargetError(
            f"target {spec!r} is a Python callable; --model and --system-prompt apply to URLs",
            field="model",
        )
    return CallableTarget.from_spec(spec)


def probe_target(
    spec: str,
    *,
    model: str | None = None,
    interface: str = "auto",
    api_key_env: str | None = None,
) -> Any:
    """A target for the prompt-injection probes.

    ``auto``: a chat endpoint when ``--model`` is given, else a RAG service (URL or
    ``module:object``), which lets the probes plant documents and a system prompt.
    """
    _check_interface(interface)
    if interface == "chat" or (interface == "auto" and model):
        return chat_target(spec, model=model, interface="chat", api_key_env=api_key_env)
    if model:
        raise TargetError("--model applies to chat targets, not --interface rag", field="model")
    return as_rag_target(spec)
