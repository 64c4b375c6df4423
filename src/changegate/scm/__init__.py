"""Git integration: git plumbing, path-rule matching and the history audit.

- ``changegate.scm.gitrepo``: changed files of a range, SHAs, the streamed first-parent log.
- ``changegate.scm.classify``: classify a change from the files it touches, by the policy's
  path rules (``changegate.policy.pathrules``), for a list of paths or a commit range.
- ``changegate.scm.history``: which commits reached a branch outside the change process.
"""
