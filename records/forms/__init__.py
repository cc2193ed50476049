"""The school records' forms, one module per office or area (as ``records.views``).

Forms only check shapes; the services check the rules. Every form derives from the core's
``portfolio.forms.Form`` (which refuses control characters next to the field).
"""
