"""Where an access review's population comes from: changegate's own users, roles and tokens
(read from the users and auth slices), and when each person last acted (from audited rows:
web logins, approvals, deployments), with one grouped, indexed query per kind of activity."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from changegate.access.population import CHANGEGATE, Entitlement
from changegate.auth.models import ApiToken, WebSession
from changegate.db import utcnow
from changegate.deployments.models import Deployment
from changegate.reviews.models import Review
from changegate.users.models import User

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

ROLE = "role:"
TOKEN = "token:"


def privileged_roles(policy: Policy) -> set[str]:
    """Roles that can approve, deploy or administer: the users slice's rule for which roles
    decide the gate (derived from the policy's ``permissions`` map, ``deploy.deployer_roles``
    and the roles rules require), so the two never disagree."""
    from changegate.users.service import gate_roles

    return gate_roles(policy)


def changegate_population(session: Session, policy: Policy) -> list[Entitlement]:
    """Every role of every active user, and every active API token, as entitlements."""
    privileged = privileged_roles(policy)
    users = {u.name: u for u in session.scalars(select(User).where(User.active.is_(True)))}
    rows = [
        Entitlement(user.name, CHANGEGATE, ROLE + role, role in privileged)
        for user in users.values()
        for role in user.roles
    ]
    now = utcnow()
    for token in session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))):
        user = users.get(token.user_name)
        if user is None or token.status(now) != "active":
            continue
        rows.append(
            Entitlement(
                user.name, CHANGEGATE, f"{TOKEN}{token.id}", bool(set(user.roles) & privileged)
            )
        )
    return rows


def last_activity(session: Session) -> dict[str, tuple[dt.datetime, str]]:
    """Each person's latest login, approval or deployment: name -> (when, which)."""
    kinds = (
        ("login", WebSession.user_name, WebSession.created_at, None),
        ("approval", Review.reviewer, Review.created_at, Review.verdict == "approve"),
        ("deployment", Deployment.actor, Deployment.created_at, Deployment.kind == "deploy"),
    )
    latest: dict[str, tuple[dt.datetime, str]] = {}
    for kind, who, when, where in kinds:
        stmt = select(who, func.max(when)).group_by(who)
        if where is not None:
            stmt = stmt.where(where)
        for name, at in session.execute(stmt):
            if at is not None and (name not in latest or at > latest[name][0]):
                latest[name] = (at, kind)
    return latest
