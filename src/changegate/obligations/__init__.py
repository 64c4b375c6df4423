"""What is owed now: the one list an engineering manager or auditor reads first."""
