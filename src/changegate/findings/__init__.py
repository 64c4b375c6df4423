"""Vulnerability findings with SLAs (policy §6): import from scanners, SLA clocks, risk acceptance."""
