"""changegate: change management policy as code."""

__version__ = "0.1.0"
