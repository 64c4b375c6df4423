"""Git integration: git plumbing, path-rule matching and the history audit.

What the record makes of git (the class floor, the commit index, the change behind a commit,
a change created from a range) lives in ``changegate.changes``; the path rules themselves are
part of the policy (``changegate.policy.pathrules``).

- ``changegate.scm.gitrepo``: runs git: changed files of a range, SHAs, the streamed
  first-parent log; ``changegate.scm.gitformats``: git's records and the parsers of its output.
- ``changegate.scm.sha``: commit SHAs as people and pipelines give them.
- ``changegate.scm.classify``: classify a change from the files it touches, by the policy's
  path rules, for a list of paths or a commit range; ``changegate.scm.range_read``: what a
  range holds, read where the repository is.
- ``changegate.scm.authors``: who authored, committed or pushed a change's commits.
- ``changegate.scm.history``: which commits reached a branch outside the change process;
  ``history_pipelined`` looks each batch up one ahead, ``history_db`` answers from the
  database, ``history_wire`` carries the answers from a server.
"""
