"""Driving the real `changegate` CLI through an AI change, one command at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from changegate.db import session_scope
from changegate.policy.service import ensure_recorded
from changegate.users.service import add_user
from tests.cli_runner import Run, cli
from tests.factories import DEFAULT, TEAM

DATA = Path(__file__).parent / "data"
JUNIT = Path(__file__).parents[2] / "data" / "junit_pass.xml"
FAST_SUITE = DATA / "suite_fast.yaml"
GOOD_CALLABLE = "tests.ai.fake_targets:answer"
ISOLATED = "tests.ai.flow.targets:isolated_rag"
LEAKY = "tests.ai.flow.targets:leaky_rag"

#: the foundation's team, plus a second security reviewer and a pipeline identity
AI_TEAM = TEAM | {"sue": ["security"], "ci-bot": ["ci"]}


def make_ai_team(engine: Engine) -> None:
    with session_scope(engine) as s:
        ensure_recorded(s, DEFAULT)
        for name, roles in AI_TEAM.items():
            add_user(s, DEFAULT.policy, name=name, roles=roles)


def day(offset: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).isoformat()


@dataclass
class Flow:
    db_url: str
    tmp: Path

    def run(self, *args: str, code: int = 0) -> Run:
        r = cli(self.db_url, *args)
        assert r.code == code, (args, r.code, r.stdout[-3000:], r.stderr[-3000:])
        return r

    def json(self, *args: str, code: int = 0) -> Any:
        return self.run(*args, "--json", code=code).json()

    # --- the change -------------------------------------------------------------------

    def change(
        self,
        category: str,
        change_class: str,
        *,
        providers: tuple[str, ...] = (),
        author: str = "alice",
        extra: tuple[str, ...] = (),
    ) -> str:
        args = [
            "change", "new", "--title", f"AI change: {category}", "--class", change_class,
            "--category", category, "--risk", "availability=low", "--risk", "security=low",
            "--risk", "data=low", "--rollback", "restore the previous configuration",
            "--description", f"An AI change of category {category}.", "--author", author,
        ]  # fmt: skip
        for p in providers:
            args += ["--provider", p]
        return str(self.json(*args, *extra)["id"])

    def submit(self, key: str, by: str = "alice", code: int = 0) -> Run:
        return self.run("change", "submit", key, "--by", by, code=code)

    def approve(self, key: str, by: str) -> None:
        self.run("approve", key, "--by", by, "--comment", "reviewed")

    def junit(self, key: str) -> None:
        self.run("evidence", "add", key, "--junit", str(JUNIT), "--by", "ci-bot")

    def staging(self, key: str) -> None:
        self.run(
            "evidence", "add", key, "--validation", "staging", "--result", "pass", "--by", "ci-bot"
        )

    # --- AI evidence ------------------------------------------------------------------

    def regress(self, key: str, *, code: int = 0, target: str = GOOD_CALLABLE) -> Any:
        return self.json(
            "ai", "regress", str(FAST_SUITE), "--target", target, "--before-target",
            GOOD_CALLABLE, "--change", key, "--by", "ci-bot", code=code,
        )  # fmt: skip

    def isolation(self, key: str, target: str = ISOLATED, code: int = 0) -> Any:
        return self.json(
            "ai", "isolation", "--target", target, "--tenants", "acme,globex",
            "--probes-per-pair", "1", "--seed", "5", "--change", key, "--by", "ci-bot", code=code,
        )  # fmt: skip

    def assess(self, key: str, by: str = "sam", code: int = 0) -> Any:
        return self.json(
            "ai", "assess", key, "--prompt-injection", "low", "--data-leakage", "low",
            "--content-filter", "low", "--notes", "reviewed the diff", "--by", by, code=code,
        )  # fmt: skip

    def provider(self, name: str) -> None:
        self.run("ai", "provider", "add", name)

    def dpa(self, name: str, *, expires: str, signed: str | None = None, code: int = 0) -> Any:
        doc = self.tmp / f"dpa-{name}.pdf"
        doc.write_bytes(b"%PDF-1.4 signed DPA for " + name.encode() + expires.encode())
        return self.json(
            "ai", "provider", "dpa", name, "--status", "signed", "--signed", signed or day(-300),
            "--expires", expires, "--document", str(doc), "--by", "artur", code=code,
        )  # fmt: skip

    # --- reading ----------------------------------------------------------------------

    def status(self, key: str) -> Any:
        return self.json("status", key)

    def unmet(self, key: str) -> dict[str, str]:
        return {r["rule"]: r["reason"] for r in self.status(key)["unmet"] if r["stage"] == "gate"}

    def gate(self, key: str) -> tuple[bool, dict[str, str]]:
        r = cli(self.db_url, "gate", key, "--env", "production", "--deployer", "carol", "--json")
        assert r.code in (0, 1), r.stderr
        out = r.json()
        assert (r.code == 0) == out["passed"]
        return out["passed"], {u["rule"]: u["reason"] for u in out["unmet"]}

    def evidence(self, key: str) -> list[dict[str, Any]]:
        return list(self.json("change", "show", key)["evidence"])
