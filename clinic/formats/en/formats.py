"""How staff pages write dates: one format everywhere, "1 Dec 2026, 08:02".

The same as followups.desk.display.DESK_DATETIME, for the values Django's
admin formats itself (read-only fields, lists). Times are in the clinic's time
zone, which the admin site activates. Patients' pages set their own formats
per language (locale/).
"""

DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
