"""All tables, imported here so Alembic and the app see the whole metadata."""
from monitor.models.attention import AttentionItem
from monitor.models.audit import AuditEntry
from monitor.models.imports import ImportJob
from monitor.models.followups import (
    ContactAttempt, ContactSettings, FollowUp, FollowUpEvent, InboundMessage, SampleDraw, SampleFrameMember,
    SampleStratum, SmsMessage,
    Wave,
)
from monitor.models.organisations import Organisation
from monitor.models.responses import (
    Response, ResponseAnswer, ResponseFlag, ResponseRevision, ResponseScore, ScoringVersion, SurveyLink,
)
from monitor.models.returnees import ConsentEvent, Returnee, ReturneeVulnerability
from monitor.models.tokens import ApiToken
from monitor.models.users import LoginThrottle, RecoveryCode, User

__all__ = ["ApiToken", "AttentionItem", "AuditEntry", "ConsentEvent", "ContactAttempt", "ContactSettings", "FollowUp", "FollowUpEvent", "ImportJob",
           "InboundMessage", "LoginThrottle", "RecoveryCode", "Organisation", "SampleDraw", "SampleFrameMember", "SampleStratum", "SmsMessage", "Wave", "Response", "ResponseAnswer", "ResponseFlag", "ResponseRevision", "ResponseScore", "ScoringVersion", "Returnee",
           "ReturneeVulnerability", "SurveyLink", "User"]
