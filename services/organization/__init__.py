"""The organization service: company-wide tags, the company's users and entity counts."""
