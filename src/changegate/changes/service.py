"""Creating, editing, submitting and closing change requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes import permissions
from changegate.changes.keys import parse_key
from changegate.changes.lifecycle import next_state
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import IntegrityFailure, InvalidInput, NotFound, PolicyDenied
from changegate.policy import service as policy_service
from changegate.policy.catalogue import is_pre_approved, refusal
from changegate.policy.names import CLASS_NAMES
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.changes.schemas import ChangeCreate, ChangeFields, ChangeUpdate
    from changegate.policy.schema import Policy


#: a change by id, and the same locked and read afresh; built once (every request on a change
#: runs one, and building a statement costs more than running it)
_BY_ID = select(Change).where(Change.id == bindparam("id"))
_LOCKED = _BY_ID.with_for_update().execution_options(populate_existing=True)
_SET_STATE = (
    update(Change)
    .where(Change.id == bindparam("change_id"))
    .values(state=bindparam("new_state"), updated_at=bindparam("new_updated_at"))
)


def get_change(session: Session, key: str, *, lock: bool = False) -> Change:
    """The change ``key``; with ``lock``, its row locked for the rest of the transaction and
    read afresh in the same statement (what the session held before is overwritten)."""
    change = session.scalar(_LOCKED if lock else _BY_ID, {"id": parse_key(key)})
    if change is None:
        raise NotFound(f"no change {key}; `changegate change list` shows them", field="change")
    return change


def lock_change(session: Session, change: Change) -> None:
    """Hold ``change``'s row lock for the rest of the transaction and read it afresh, so what
    is decided on it next is decided on its committed state, never on a read made before
    another transaction changed it (PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite serialises
    writers already). A no-op beyond the re-read when the caller locked it already. The
    statement autoflushes what the session holds first."""
    session.execute(_LOCKED, {"id": change.id}).scalar_one()


def _validate(policy: Policy, fields: dict[str, Any]) -> None:
    """Check values against the policy; every problem is reported at once."""
    problems: list[tuple[str, str]] = []
    cls = fields.get("change_class")
    if cls is not None and cls not in CLASS_NAMES:
        problems.append(("class", f"unknown class {cls!r}; use one of {', '.join(CLASS_NAMES)}"))
    category = fields.get("category")
    if category:
        spec = policy.categories.get(category)
        if spec is None:
            problems.append(
                (
                    "category",
                    f"unknown category {category!r}; categories: {', '.join(policy.categories)}",
                )
            )
        elif cls in CLASS_NAMES and cls != spec.change_class:
            order = ["standard", "normal"]
            raised = (
                spec.change_class in order
                and cls in order
                and order.index(cls) > order.index(spec.change_class)
            )
            if not raised:
                problems.append(
                    (
                        "class",
                        f"category {category} is classified {spec.change_class} by the policy "
                        f"(§{spec.section}); use --class {spec.change_class}",
                    )
                )
    for comp in fields.get("components") or []:
        if comp not in policy.components:
            problems.append(
                (
                    "component",
                    f"unknown component {comp!r}; components: {', '.join(policy.components)}",
                )
            )
    ai_comp = fields.get("ai_component")
    if ai_comp and ai_comp not in policy.ai.components:
        problems.append(
            (
                "ai-component",
                f"unknown AI component {ai_comp!r}; use one of {', '.join(policy.ai.components)}",
            )
        )
    risk = fields.get("risk")
    if risk is not None:
        for dim, entry in risk.items():
            if dim not in policy.risk.dimensions:
                problems.append(
                    (
                        "risk",
                        f"unknown risk dimension {dim!r}; dimensions: {', '.join(policy.risk.dimensions)}",
                    )
                )
            elif entry["level"] not in policy.risk.levels:
                problems.append(
                    (
                        "risk",
                        f"risk {dim}={entry['level']!r} is not a level; use {'|'.join(policy.risk.levels)}",
                    )
                )
    if problems:
        raise InvalidInput("; ".join(f"--{f}: {m}" for f, m in problems), field=problems[0][0])


def _normalise(policy: Policy, data: ChangeFields) -> dict[str, Any]:
    values = data.model_dump(exclude_none=True, exclude={"author"})
    if "risk" in values:
        values["risk"] = {
            k: {"level": v["level"], "note": v.get("note", "")} for k, v in values["risk"].items()
        }
    for key in ("components", "providers", "links", "commits"):
        if key in values:
            values[key] = list(dict.fromkeys(values[key]))
    category = values.get("category")
    if category and not values.get("ai_component"):
        spec = policy.categories.get(category)
        if spec is not None and spec.ai and spec.component:
            values["ai_component"] = spec.component
    return values


def create_change(
    session: Session, policy: Policy, data: ChangeCreate, *, placed: bool = False
) -> Change:
    """``placed``: the commits are those of a range or pull request whose changed files the
    caller classified by the policy's path rules (scm, the GitHub integration)."""
    author = get_user(session, data.author, field="author")
    policy_service.require(policy, author, "change.create", doing="create changes")
    values = _normalise(policy, data)
    _validate(policy, values)
    _check_standard(policy, values, complete=False)
    _check_placed(session, policy, None, values, placed=placed)
    now = utcnow()
    change = Change(
        author=author.name,
        state="draft",
        revision=1,
        created_at=now,
        updated_at=now,
        **{
            "description": "",
            "components": [],
            "providers": [],
            "risk": {},
            "rollback_plan": "",
            "justification": "",
            "links": [],
            "commits": [],
            "security_flag": False,
            **values,
        },
    )
    session.add(change)
    record(session, events.ChangeCreated, actor=author.name, after=change)
    _written(session, policy, change)
    return change


def edit_change(
    session: Session,
    policy: Policy,
    change: Change,
    data: ChangeUpdate,
    *,
    actor: str,
    placed: bool = False,
) -> Change:
    user = get_user(session, actor)
    permissions.require(policy, change, user, "edit")
    values = _normalise(policy, data)
    if not values:
        raise InvalidInput("nothing to change: give at least one field option", field="change")
    merged = {**change.content(), **values}
    _validate(policy, merged)
    target = next_state("edit", change.state, change.key)
    _class_floor(session, change, str(merged.get("change_class")))
    _check_standard(policy, merged, complete=target != "draft")
    _check_placed(session, policy, change, merged, placed=placed)
    before = change.audit_state()
    for key, value in values.items():
        setattr(change, key, value)
    if change.content() == {k: before[k] for k in change.content()}:
        raise InvalidInput("the edit changes nothing", field="change")
    change.state = target
    change.revision += 1
    change.updated_at = utcnow()
    _written(session, policy, change)
    record(session, events.ChangeEdited, actor=user.name, before=before, after=change)
    if (
        change.state == "submitted"
        and is_pre_approved(policy, change.change_class)
        and not missing_fields(policy, change)
    ):
        # checked against its catalogue entry above and complete, as at submit: pre-approved
        # again (incomplete, it waits in `submitted` until an edit completes it)
        transition(
            session,
            change,
            "approved",
            actor="system",
            reason="pre-approved standard change, re-evaluated after an edit",
        )
    return change


def _class_floor(session: Session, change: Change, change_class: str) -> None:
    """Refuse, first and with its own reason, a class below what the change's range or pull
    request requires (``change_written`` checks it again on what is written)."""
    from changegate.changes.floor import class_floor, effective_class

    floor = class_floor(session, change)
    if floor is not None and change_class in CLASS_NAMES:
        effective_class(change_class, floor, CLASS_NAMES)


def _check_standard(policy: Policy, values: dict[str, Any], *, complete: bool) -> None:
    """Refuse a pre-approved (standard) change outside the policy's catalogue (§3a).

    Runs before anything is written, at create, edit and submit. ``complete``: every risk
    dimension must be assessed (a submitted change); a draft is checked on what it has.
    """
    problems = standard_problems(policy, values, complete=complete)
    if problems:
        raise PolicyDenied(refusal(problems), field="class")


def _check_placed(
    session: Session,
    policy: Policy,
    change: Change | None,
    values: dict[str, Any],
    *,
    placed: bool,
) -> None:
    """A pre-approved change's commits are ones the path rules placed (§3a: with the git
    integration, the catalogue entry names the paths it may touch): those of the range or pull
    request it was classified from. Commits listed by hand were never checked against the
    entry's paths, and a range's files stay under the procedure their path rules gave them;
    what cannot be placed is normal, never standard. ``placed``: the caller classified the
    commits given here (scm, the GitHub integration)."""
    if placed or not is_pre_approved(policy, str(values.get("change_class"))):
        return
    from changegate.scm.models import REPORTED_RANGE, ChangeClassification

    row = (
        session.scalar(
            select(ChangeClassification).where(ChangeClassification.change_id == change.id)
        )
        if change is not None and change.id is not None
        else None
    )
    commits = list(values.get("commits") or [])
    added = [sha for sha in commits if change is None or sha not in (change.commits or [])]
    problems: list[str] = []
    if row is not None and row.source == REPORTED_RANGE:
        problems.append(
            f"the files of {row.git_range} were read by the client, not by changegate, so they "
            "cannot be checked against its commits; a standard change's files are read from "
            "its pull request or by `changegate change from-git` where the record is kept"
        )
    elif added or (commits and row is None):
        problems.append(
            "commits listed by hand cannot be checked against the procedure's paths; a "
            "standard change's commits come from its range (`changegate change from-git`) or "
            "its pull request"
        )
    category = values.get("category")
    if row is not None and category and category not in row.categories:
        problems.append(
            f"its changed files ({row.git_range}) fall under "
            f"{', '.join(row.categories) or 'no category'}, not the {category} procedure"
        )
    if problems:
        raise PolicyDenied(refusal(problems), field="commit" if added else "category")


def standard_problems(policy: Policy, values: dict[str, Any], *, complete: bool) -> list[str]:
    """Why change fields (as ``Change.content()`` holds them) are not a pre-approved change of
    the policy's catalogue; empty when they are, or when the class is not pre-approved."""
    if not is_pre_approved(policy, str(values.get("change_class"))):
        return []
    from changegate.policy.catalogue import standard_change_problems
    from changegate.policy.engine import ChangeFacts, is_high_risk, is_security_impacting

    risk = {dim: str(entry.get("level", "")) for dim, entry in (values.get("risk") or {}).items()}
    facts = ChangeFacts(
        id="-",
        change_class=str(values["change_class"]),
        author="",
        risk=risk,
        category=values.get("category"),
        components=tuple(values.get("components") or ()),
        security_flag=bool(values.get("security_flag")),
    )
    return standard_change_problems(
        policy,
        category=values.get("category"),
        risk=risk,
        components=facts.components,
        ai_component=values.get("ai_component"),
        security_impacting=is_security_impacting(policy, facts),
        high_risk=is_high_risk(policy, risk),
        complete=complete,
    )


def _written(session: Session, policy: Policy, change: Change) -> None:
    """The class floor of a change from a pull request or range, and the commit index (scm)."""
    from changegate.changes.floor import change_written

    change_written(session, policy, change)


def missing_fields(policy: Policy, change: Change) -> list[str]:
    spec = policy.classes[change.change_class]  # type: ignore[index]
    missing: list[str] = []
    for name in spec.required_fields:
        if name == "risk":
            levels = change.risk_levels()
            absent = [d for d in policy.risk.dimensions if not levels.get(d)]
            if absent:
                missing.append("risk (" + ", ".join(absent) + ")")
            continue
        value = getattr(change, name, None)
        if value in (None, "", [], {}):
            missing.append(name)
    if change.category:
        cat = policy.categories.get(change.category)
        if cat is not None and cat.ai and not change.ai_component:
            missing.append("ai_component")
        if cat is not None and cat.requires_providers and not change.providers:
            missing.append("providers")
    return missing


def submit_change(session: Session, policy: Policy, change: Change, *, actor: str) -> Change:
    user = get_user(session, actor)
    permissions.require(policy, change, user, "submit")
    target = next_state("submit", change.state, change.key)
    missing = missing_fields(policy, change)
    if missing:
        raise InvalidInput(
            f"{change.key} cannot be submitted: the policy requires for a {change.change_class} "
            f"change: {', '.join(missing)}; add them with `changegate change edit {change.key}`",
            field=missing[0].split(" ")[0],
        )
    _check_standard(policy, change.content(), complete=True)
    _check_placed(session, policy, change, change.content(), placed=False)
    before = change.audit_state()
    change.state = target
    change.submitted_at = change.updated_at = utcnow()
    record(session, events.ChangeSubmitted, actor=user.name, before=before, after=change)
    if is_pre_approved(policy, change.change_class):
        transition(
            session, change, "approved", actor="system", reason="pre-approved standard change"
        )
    return change


def transition(
    session: Session, change: Change, target: str, *, actor: str, reason: str = ""
) -> None:
    before = change.audit_state()
    now = utcnow()
    # one Core UPDATE of the two columns rather than a unit of work (70 µs more, on every
    # approval); the session's own changes are written first, as its autoflush would
    session.flush()
    done = session.connection().execute(
        _SET_STATE, {"change_id": change.id, "new_state": target, "new_updated_at": now}
    )
    if done.rowcount != 1:
        raise IntegrityFailure(f"{change.key}: its row is gone; run `changegate audit verify`")
    set_committed_value(change, "state", target)
    set_committed_value(change, "updated_at", now)
    record(
        session,
        events.ChangeStateChanged,
        actor=actor,
        before=before,
        after=change,
        extra={"reason": reason} if reason else None,
    )


def close_change(session: Session, policy: Policy, change: Change, *, actor: str) -> Change:
    from changegate.changes.status import evaluate_change

    user = get_user(session, actor)
    permissions.require(policy, change, user, "close")
    target = next_state("close", change.state, change.key)
    pending = [
        r for r in evaluate_change(session, policy, change).stage("post_deploy") if not r.met
    ]
    if pending and change.state != "rejected":
        from changegate.errors import Conflict

        raise Conflict(
            f"{change.key} cannot be closed yet: " + "; ".join(r.reason for r in pending),
            field="state",
        )
    transition(session, change, target, actor=user.name, reason="closed")
    return change
