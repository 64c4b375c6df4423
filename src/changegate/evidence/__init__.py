"""Evidence attached to changes: test results, validations, documents; stored by content."""
