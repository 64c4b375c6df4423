"""DORA delivery metrics (dora.dev) from the recorded deployments, rollbacks and emergency changes."""
