"""§7 access reviews: campaigns, their population and the decisions on it (docs/access-reviews.md)."""
