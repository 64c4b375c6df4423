"""`changegate change` and `changegate status` over the local database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.orm import Session

    from changegate.changes.models import Change
    from changegate.cli.changes import RiskEdit
    from changegate.errors import InvalidInput

#: a change's field -> the `change new` / `change edit` option that sets it
OPTION_OF = {
    "change_class": "class",
    "rollback_plan": "rollback",
    "links": "link",
    "commits": "commit",
    "components": "component",
    "providers": "provider",
}


class LocalChanges(LocalBackend):
    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        from changegate.changes.schemas import ChangeCreate
        from changegate.changes.service import create_change

        fixes, triggered = data.pop("fixes", []), data.pop("triggered_by", [])
        fields = validated(ChangeCreate, data)
        with self.tx() as (s, pol):
            c = create_change(s, pol, fields)
            if fixes or triggered:
                from changegate.findings.links import link_new_change

                link_new_change(s, pol, c, fixes=fixes, triggered_by=triggered, actor=c.author)
            if data.get("commits"):
                record_authors(s, c, actor=c.author)
            return c.audit_state()

    def edit(
        self, change: str, data: dict[str, Any], risk: RiskEdit | None, by: str
    ) -> dict[str, Any]:
        from changegate.changes.risk import merge_risk
        from changegate.changes.schemas import ChangeUpdate
        from changegate.changes.service import edit_change, get_change

        with self.tx() as (s, pol):
            c = get_change(s, change, lock=True)
            if risk is not None:
                data = data | {"risk": merge_risk(*risk, c.risk)}
            edit_change(s, pol, c, validated(ChangeUpdate, data), actor=by)
            if data.get("commits"):
                record_authors(s, c, actor=by)
            return c.audit_state()

    def submit(self, change: str, by: str) -> dict[str, Any]:
        from changegate.changes.service import get_change, submit_change

        with self.tx() as (s, pol):
            return submit_change(s, pol, get_change(s, change, lock=True), actor=by).audit_state()

    def close(self, change: str, by: str) -> dict[str, Any]:
        from changegate.changes.service import close_change, get_change

        with self.tx() as (s, pol):
            return close_change(s, pol, get_change(s, change, lock=True), actor=by).audit_state()

    def show(self, change: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.changes.status import change_report

        with self.tx(write=False) as (s, pol):
            return change_report(s, pol, get_change(s, change))

    def changes(
        self, query: dict[str, str | None], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        from changegate.changes.listing import ChangeFilter, list_states

        filters = ChangeFilter.from_query(query)
        with self.tx(write=False) as (s, _):
            page = list_states(s, filters, sort=query.get("sort"), limit=limit, cursor=cursor)
            return page.rows, page.next

    def stream(self, query: dict[str, str | None], per_page: int) -> Iterator[dict[str, Any]]:
        from changegate.changes.listing import ChangeFilter, iter_changes

        filters = ChangeFilter.from_query(query)
        with self.tx(write=False) as (s, _):
            for c in iter_changes(s, filters, sort=query.get("sort"), page_size=per_page):
                yield c.audit_state()

    def status(self, change: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.changes.status import status_report

        with self.tx(write=False) as (s, pol):
            return status_report(s, pol, get_change(s, change))


def validated(schema: Any, data: dict[str, Any]) -> Any:
    """``data`` as the Pydantic ``schema``, or the error naming the options at fault."""
    from pydantic import ValidationError

    try:
        return schema(**data)
    except ValidationError as exc:
        raise invalid_input(exc) from exc


def invalid_input(exc: ValidationError) -> InvalidInput:
    """A change's fields refused by Pydantic, in the words of the command line's options."""
    from changegate.errors import InvalidInput

    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        option = OPTION_OF.get(loc.split(".")[0], loc.split(".")[0])
        parts.append(f"--{option.replace('_', '-')}: {err['msg'].removeprefix('Value error, ')}")
    errs = exc.errors()
    field = str(errs[0]["loc"][0]) if errs and errs[0]["loc"] else None
    return InvalidInput("; ".join(parts), field=field)


def record_authors(session: Session, change: Change, *, actor: str) -> None:
    """Who authored and committed the change's commits, read from the repository the CLI
    runs in: they count as authors for segregation of duties."""
    from contextlib import suppress

    from changegate.scm.authors import record_from_repository
    from changegate.scm.errors import NotARepository

    # full SHAs given outside a repository: GitHub reports their authors when pushed
    with suppress(NotARepository):
        record_from_repository(session, change, ".", source="git", actor=actor)
