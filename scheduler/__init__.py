"""Follow-up planning, stratified sampling of waves, the contact-protocol state machine and the
APScheduler runner. Pure logic, testable without a server; `monitor.models.Returnee.may_contact`
and `Returnee.contactable_clause` are the consent rules it will plan with.

Empty until the scheduling issue.
"""
