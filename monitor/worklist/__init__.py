"""The partner's work list: the organisation's open follow-ups that need a person, most urgent
first, and a call attempt recorded in two clicks."""
