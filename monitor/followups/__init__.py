"""The follow-up: one returnee, one wave, the unit of work and of analysis.

`operations.py` holds the actions that change a follow-up (transition, contact, attempt, close,
complete); the dispatcher, the returnee's link, the interviewer's form, the webhooks, the import
and the CLI all call them. `links.py` makes and resolves the personal survey links.
"""
