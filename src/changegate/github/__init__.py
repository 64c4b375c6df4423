"""GitHub integration without a database or a web framework.

- ``changegate.github.signature``: verify ``X-Hub-Signature-256``.
- ``changegate.github.payloads``: typed webhook payloads and ``parse_event``.
- ``changegate.github.delivery``: one webhook delivery, checked and parsed, from its headers.
- ``changegate.github.pr_template``: the PR body template parsed into change fields.
- ``changegate.github.client``: the REST calls changegate makes (protection rules, statuses).
"""
