"""Parsers of scanner output, one module per format; :func:`parse` picks one by name."""
