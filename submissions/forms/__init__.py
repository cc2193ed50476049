"""The forms of what students submit, one module per area (as ``submissions.views``)."""
