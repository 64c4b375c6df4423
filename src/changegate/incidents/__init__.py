"""Emergency changes: retrospective and post-incident reviews."""
