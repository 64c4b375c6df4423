"""The deploy gate, deployments and rollbacks, per environment."""
