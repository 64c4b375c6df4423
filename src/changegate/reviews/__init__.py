"""Approvals, rejections, sign-offs and segregation of duties."""
