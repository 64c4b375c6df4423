"""Git integration without a database: path rules, git plumbing and the history audit.

- ``changegate.scm.pathrules``: classify a change from the files it touches.
- ``changegate.scm.gitrepo``: changed files of a range, SHAs, the streamed first-parent log.
- ``changegate.scm.classify``: both together, for a commit range of a real repository.
- ``changegate.scm.history``: which commits reached a branch outside the change process.
"""
