"""The domain: aggregates, their events and the errors their rules raise.

Imports nothing from this project's other packages, nor Flask nor SQL.
"""

from events.action import Action
from events.audit import CaseAudit, record_audit
from events.learning_week import LearningWeek
from events.plan import ImprovementPlan
from events.rules import DomainError, InvalidInput, Problems, Refused

__all__ = [
    "Action",
    "CaseAudit",
    "DomainError",
    "ImprovementPlan",
    "InvalidInput",
    "LearningWeek",
    "Problems",
    "Refused",
    "record_audit",
]
