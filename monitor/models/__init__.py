"""All tables, imported here so Alembic and the app see the whole metadata."""
from monitor.models.audit import AuditEntry
from monitor.models.organisations import Organisation
from monitor.models.responses import Response, ResponseAnswer, ResponseFlag, SurveyLink
from monitor.models.returnees import ConsentEvent, Returnee, ReturneeVulnerability
from monitor.models.users import User

__all__ = ["AuditEntry", "ConsentEvent", "Organisation", "Response", "ResponseAnswer", "ResponseFlag", "Returnee",
           "ReturneeVulnerability", "SurveyLink", "User"]
