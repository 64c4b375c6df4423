"""GitHub integration.

Without a database or a web framework:

- ``changegate.github.signature``: verify ``X-Hub-Signature-256``.
- ``changegate.github.payloads``: typed webhook payloads and ``parse_event``.
- ``changegate.github.delivery``: one webhook delivery, checked and parsed, from its headers.
- ``changegate.github.pr_template``: the PR body template parsed into change fields.
- ``changegate.github.client``: the REST calls changegate makes (protection rules, statuses).

With the database (services that flush, never commit):

- ``changegate.github.models``: deliveries, pull request links, commit links, deployments.
- ``changegate.github.service``: ``handle_delivery``, the webhook's entry point; GitHub calls
  made after the commit (``run_followups``).
- ``changegate.github.pulls``: pull requests (their fields from ``pr_fields``, their changed
  files from ``pr_clone``); ``changegate.github.reviews``: reviews; ``changegate.github.deploys``:
  pushes, deployments and the deployment protection rule; ``changegate.github.handling``:
  what handlers share. ``changegate.github.settings``: ``CHANGEGATE_GITHUB_*``.
"""
