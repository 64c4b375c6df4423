"""Targets that AI checks talk to.

* Chat targets answer one input: an OpenAI-compatible chat completions endpoint
  (:class:`ChatCompletionsTarget`) or a Python callable named ``module:function``
  (:class:`CallableTarget`). Used by regression suites and injection probes.
* RAG targets ingest documents and answer questions with the chunks they retrieved: an
  HTTP service exposing ``POST /ingest`` and ``POST /query`` (:class:`HttpRagTarget`) or a
  Python object with ``ingest``/``query`` methods. Used by isolation and injection checks.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from changegate.ai.errors import TargetError
from changegate.ai.suite import Context

DEFAULT_TIMEOUT = 60.0
TENANT_HEADER = "X-Tenant-ID"


class Target(Protocol):
    """Something that answers one input."""

    label: str

    def complete(self, input: str, *, tenant: str | None = None, context: Context = None) -> str:
        """The target's answer to ``input``; raises :class:`TargetError` on failure."""
        ...


def render_context(context: Context) -> str | None:
    """Context as text for a chat message."""
    if context is None:
        return None
    if isinstance(context, str):
        return context
    if isinstance(context, list):
        return "\n\n".join(str(c) for c in context)
    return json.dumps(context, indent=2, sort_keys=True, default=str)


def chat_completions_url(url: str) -> str:
    """Accept a base URL (``http://host/v1``) or the full ``.../chat/completions`` URL."""
    u = url.rstrip("/")
    return u if u.endswith("/chat/completions") else f"{u}/chat/completions"


def _snippet(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        if texts and all(isinstance(t, str) for t in texts):
            return "".join(t for t in texts if isinstance(t, str))
    return None


def _require_http(url: str, what: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise TargetError(f"{what} URL {url!r} must start with http:// or https://", field="url")


def _post(
    client: httpx.Client | None,
    url: str,
    body: dict[str, Any],
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``body`` as JSON; a transport failure or an HTTP error status is a TargetError."""
    try:
        if client is not None:
            resp = client.post(url, json=body, headers=headers, timeout=timeout)
        else:
            resp = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise TargetError(
            f"POST {url} failed: {exc}; check the URL and that the service runs", field="url"
        ) from exc
    if resp.status_code >= 400:
        raise TargetError(
            f"POST {url} answered HTTP {resp.status_code}: {_snippet(resp.text)}", field="url"
        )
    return resp


@dataclass
class ChatCompletionsTarget:
    """An OpenAI-compatible chat completions endpoint.

    Sends ``POST {url}/chat/completions`` with ``{"model", "messages"}`` and reads
    ``choices[0].message.content``. ``system_prompt`` and the case context go in as system
    messages; the tenant, when given, in the ``X-Tenant-ID`` header.
    """

    url: str
    model: str
    api_key: str | None = None
    system_prompt: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    client: httpx.Client | None = field(default=None, repr=False)
    label: str = ""

    def __post_init__(self) -> None:
        _require_http(self.url, "chat target")
        if not self.model:
            raise TargetError(
                "a chat completions target needs a model name (the 'model' of the request)",
                field="model",
            )
        self.endpoint = chat_completions_url(self.url)
        if not self.label:
            self.label = f"{self.model} @ {self.endpoint}"

    def messages(
        self, input: str, *, context: Context = None, system_prompt: str | None = None
    ) -> list[dict[str, str]]:
        msgs: list[dict[str, str]] = []
        system = system_prompt if system_prompt is not None else self.system_prompt
        if system:
            msgs.append({"role": "system", "content": system})
        ctx = render_context(context)
        if ctx:
            msgs.append({"role": "system", "content": f"Context:\n{ctx}"})
        msgs.append({"role": "user", "content": input})
        return msgs

    def complete(
        self,
        input: str,
        *,
        tenant: str | None = None,
        context: Context = None,
        system_prompt: str | None = None,
    ) -> str:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if tenant:
            headers[TENANT_HEADER] = tenant
        body = {
            "model": self.model,
            "messages": self.messages(input, context=context, system_prompt=system_prompt),
        }
        resp = _post(self.client, self.endpoint, body, timeout=self.timeout, headers=headers)
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TargetError(
                f"POST {self.endpoint} returned no choices[0].message.content "
                f"(body: {_snippet(resp.text)}); is this an OpenAI-compatible endpoint?",
                field="url",
            ) from exc
        text = _content_text(content)
        if text is None:
            raise TargetError(
                f"POST {self.endpoint}: choices[0].message.content is {type(content).__name__}, "
                "not text",
                field="url",
            )
        return text


def load_object(spec: str, *, what: str) -> Any:
    """Import ``module:attribute`` (attribute may be dotted)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(
            f"{what} {spec!r} is not 'package.module:function'; give the module path, a "
            "colon and the attribute name",
            field="target",
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(
            f"{what} {spec!r}: cannot import module {module_name!r} ({exc}); "
            "check PYTHONPATH and the module name",
            field="target",
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise TargetError(
                f"{what} {spec!r}: module {module_name!r} has no attribute {attr!r}",
                field="target",
            ) from exc
    return obj


@dataclass
class CallableTarget:
    """A Python function ``fn(input, tenant, context) -> str``."""

    fn: Callable[[str, str | None, Context], str]
    label: str = ""

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TargetError(f"target {self.label or self.fn!r} is not callable", field="target")
        if not self.label:
            self.label = (
                f"{getattr(self.fn, '__module__', '?')}:{getattr(self.fn, '__qualname__', '?')}"
            )

    @classmethod
    def from_spec(cls, spec: str) -> CallableTarget:
        return cls(load_object(spec, what="callable target"), label=spec)

    def complete(self, input: str, *, tenant: str | None = None, context: Context = None) -> str:
        try:
            out = self.fn(input, tenant, context)
        except Exception as exc:
            raise TargetError(
                f"target {self.label} raised {type(exc).__name__}: {exc}", field="target"
            ) from exc
        if not isinstance(out, str):
            raise TargetError(
                f"target {self.label} returned {type(out).__name__}; it must return str",
                field="target",
            )
        return out


def parse_target(
    spec: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    system_prompt: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ChatCompletionsTarget | CallableTarget:
    """``http(s)://...`` -> chat completions target (``model`` required); otherwise a
    ``module:function`` callable."""
    if spec.startswith(("http://", "https://")):
        if not model:
            raise TargetError(
                f"target {spec!r} is a URL, so a model name is required (e.g. --model gpt-4o)",
                field="model",
            )
        return ChatCompletionsTarget(
            url=spec, model=model, api_key=api_key, system_prompt=system_prompt, timeout=timeout
        )
    return CallableTarget.from_spec(spec)


# --- RAG targets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    text: str
    tenant: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "tenant": self.tenant, "text": self.text}


@dataclass(frozen=True)
class RagAnswer:
    answer: str
    chunks: tuple[Chunk, ...] = ()
    context: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "chunks": [c.to_dict() for c in self.chunks],
            "context": self.context,
        }


@runtime_checkable
class RagTarget(Protocol):
    """A multi-tenant retrieval service."""

    label: str

    def ingest(self, tenant: str, doc_id: str, text: str) -> None: ...

    def query(self, tenant: str, question: str) -> RagAnswer: ...


def parse_rag_answer(data: Any, *, where: str) -> RagAnswer:
    """Validate a ``/query`` response ``{answer, chunks: [{doc_id, tenant?, text}], context}``."""
    if isinstance(data, RagAnswer):
        return data
    if not isinstance(data, Mapping):
        raise TargetError(f"{where} returned {type(data).__name__}, expected an object")
    answer = data.get("answer")
    if not isinstance(answer, str):
        raise TargetError(f"{where}: 'answer' must be a string", field="answer")
    raw_chunks = data.get("chunks", [])
    if not isinstance(raw_chunks, list):
        raise TargetError(f"{where}: 'chunks' must be a list", field="chunks")
    chunks: list[Chunk] = []
    for i, c in enumerate(raw_chunks):
        if not isinstance(c, Mapping) or not isinstance(c.get("text"), str):
            raise TargetError(
                f"{where}: chunks[{i}] must be an object with 'doc_id' and 'text'",
                field=f"chunks[{i}]",
            )
        tenant = c.get("tenant")
        chunks.append(
            Chunk(
                doc_id=str(c.get("doc_id", "")),
                text=c["text"],
                tenant=str(tenant) if tenant is not None else None,
            )
        )
    context = data.get("context", "")
    if context is None:
        context = ""
    if not isinstance(context, str):
        context = json.dumps(context, default=str)
    return RagAnswer(answer=answer, chunks=tuple(chunks), context=context)


@dataclass
class HttpRagTarget:
    """``POST {base}/ingest {tenant, doc_id, text}``, ``POST {base}/query {tenant,
    question}`` and, for injection probes, ``POST {base}/system-prompt {tenant, text}``."""

    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    client: httpx.Client | None = field(default=None, repr=False)
    label: str = ""

    def __post_init__(self) -> None:
        _require_http(self.base_url, "RAG target")
        self.base_url = self.base_url.rstrip("/")
        if not self.label:
            self.label = self.base_url

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = f"{self.base_url}{path}"
        resp = _post(self.client, url, body, timeout=self.timeout)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as exc:
            raise TargetError(f"POST {url} returned non-JSON: {_snippet(resp.text)}") from exc

    def ingest(self, tenant: str, doc_id: str, text: str) -> None:
        self._post("/ingest", {"tenant": tenant, "doc_id": doc_id, "text": text})

    def query(self, tenant: str, question: str) -> RagAnswer:
        data = self._post("/query", {"tenant": tenant, "question": question})
        return parse_rag_answer(data, where=f"POST {self.base_url}/query")

    def set_system_prompt(self, tenant: str, text: str) -> None:
        self._post("/system-prompt", {"tenant": tenant, "text": text})


@dataclass
class ObjectRagTarget:
    """Adapts a Python object whose ``query`` may return a mapping."""

    obj: Any
    label: str = ""

    def __post_init__(self) -> None:
        for method in ("ingest", "query"):
            if not callable(getattr(self.obj, method, None)):
                raise TargetError(
                    f"RAG target {self.obj!r} has no {method}() method; it needs "
                    "ingest(tenant, doc_id, text) and query(tenant, question)",
                    field="target",
                )
        if not self.label:
            self.label = type(self.obj).__name__

    def ingest(self, tenant: str, doc_id: str, text: str) -> None:
        self.obj.ingest(tenant, doc_id, text)

    def query(self, tenant: str, question: str) -> RagAnswer:
        return parse_rag_answer(self.obj.query(tenant, question), where=f"{self.label}.query")

    @property
    def can_set_system_prompt(self) -> bool:
        return callable(getattr(self.obj, "set_system_prompt", None))

    def set_system_prompt(self, tenant: str, text: str) -> None:
        if not self.can_set_system_prompt:
            raise TargetError(
                f"RAG target {self.label} has no set_system_prompt(tenant, text) method",
                field="target",
            )
        self.obj.set_system_prompt(tenant, text)


def as_rag_target(target: Any) -> HttpRagTarget | ObjectRagTarget:
    """A URL, a ``module:attribute`` spec (object or zero-argument factory), or an object."""
    if isinstance(target, HttpRagTarget | ObjectRagTarget):
        return target
    if isinstance(target, str):
        if target.startswith(("http://", "https://")):
            return HttpRagTarget(target)
        obj = load_object(target, what="RAG target")
        if not callable(getattr(obj, "query", None)) and callable(obj):
            obj = obj()
        return ObjectRagTarget(obj, label=target)
    return ObjectRagTarget(target)
