"""`changegate user` and `changegate token` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import OPERATOR, LocalBackend


class LocalUsers(LocalBackend):
    def add(
        self,
        name: str,
        roles: list[str],
        github: str | None,
        by: str | None,
        gitlab: str | None = None,
    ) -> dict[str, Any]:
        from changegate.users.service import add_user, user_view

        with self.tx() as (s, pol):
            u = add_user(
                s,
                pol,
                name=name,
                roles=roles,
                github_login=github,
                gitlab_login=gitlab,
                actor=by or OPERATOR,
            )
            return user_view(s, u)

    def set_roles(self, name: str, roles: list[str], by: str | None) -> dict[str, Any]:
        from changegate.users.service import get_user, set_roles, user_view

        with self.tx() as (s, pol):
            u = set_roles(
                s, pol, get_user(s, name, field="name"), roles=roles, actor=by or OPERATOR
            )
            return user_view(s, u)

    def users(self) -> list[dict[str, Any]]:
        from changegate.users.service import list_users, user_view

        with self.tx(write=False) as (s, _):
            return [user_view(s, u) for u in list_users(s)]

    def grants(self, pending: bool) -> list[dict[str, Any]]:
        from changegate.users.service import list_grants

        with self.tx(write=False) as (s, _):
            return [g.audit_state() for g in list_grants(s, pending_only=pending)]

    def confirm_grant(self, grant_id: int, by: str | None) -> dict[str, Any]:
        from changegate.users.service import confirm_grant

        with self.tx() as (s, pol):
            return confirm_grant(s, pol, grant_id, actor=by or OPERATOR).audit_state()

    def set_password(
        self, name: str, password: str, current: str | None, by: str | None
    ) -> dict[str, Any]:
        from changegate.auth.service import change_own_password, set_password
        from changegate.users.service import get_user

        with self.tx() as (s, _):
            if current is not None:
                owner = get_user(s, name, field="name")
                cred = change_own_password(s, user=owner, current=current, password=password)
            else:
                cred = set_password(s, user=name, password=password, actor=by or OPERATOR)
            out = None if cred is None else cred.view()
        if out is None:  # a wrong current password, recorded (committed) as a failure
            from changegate.auth.service import WRONG_CURRENT_PASSWORD
            from changegate.errors import PolicyDenied

            raise PolicyDenied(WRONG_CURRENT_PASSWORD, field="current_password")
        return out

    def token_create(self, user: str, expires: str, label: str, by: str | None) -> dict[str, Any]:
        from changegate.auth.service import create_token, token_dict

        with self.tx() as (s, _):
            token, raw = create_token(
                s, user=user, actor=by or OPERATOR, expires=expires, label=label
            )
            return token_dict(token) | {"token": raw}

    def token_list(self, user: str | None) -> list[dict[str, Any]]:
        from changegate.auth.service import list_tokens, token_dict

        with self.tx(write=False) as (s, _):
            return [token_dict(t) for t in list_tokens(s, user=user)]

    def token_revoke(self, token_id: int, by: str | None) -> dict[str, Any]:
        from changegate.auth.service import get_token, revoke_token, token_dict

        with self.tx() as (s, _):
            return token_dict(revoke_token(s, get_token(s, token_id), actor=by or OPERATOR))
