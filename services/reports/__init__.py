"""The reports service: reports are tasks of type "report" kept in hidden ".reports" projects."""
