"""Case audits: record, moderate, correct, withdraw, read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, url_for
from flask.views import MethodView

from qa_service import exports
from qa_service.api.http import (
    Blueprint,
    actor,
    answer,
    commands,
    expected_version,
    queries,
    roles,
    versioned,
)
from qa_service.api.openapi import downloads
from qa_service.schemas.audits import (
    AuditIn,
    AuditOut,
    AuditRegisterArgs,
    AuditRegisterOut,
    CorrectionIn,
    ModerationIn,
    WithdrawalIn,
)
from qa_service.schemas.common import AsOfArgs
from qa_service.schemas.trail import HistoryArgs, HistoryOut

blp = Blueprint("audits", __name__, url_prefix="/api/audits", description="Case file audits")


@blp.route("")
class Audits(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(AuditRegisterArgs, location="query")
    @blp.response(200, AuditRegisterOut)
    @downloads(blp, "The audit register", "audit-register")
    def get(self, args: dict[str, Any]) -> Any:
        """The audit register as of a date, with grade distributions and moderation
        agreement; as a spreadsheet (XLSX or CSV) of every matching audit with format"""
        fmt = args.pop("format")
        if fmt == "json":
            return queries().audits(**args)
        del args["page"], args["page_size"]
        sheets, stem = exports.audit_register(
            queries().audit_rows(**args), args, args.get("known_at"), queries().zone
        )
        file = exports.download(sheets, fmt, stem)
        return Response(file.body, mimetype=file.mimetype, headers=file.headers)

    @roles("auditor")
    @blp.arguments(AuditIn)
    @blp.response(201, AuditOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Record a case audit, with its remedial actions"""
        actions = body.pop("actions")
        audit_id = commands().record_audit(actor(), body, actions)
        return answer(
            queries().audit, audit_id, location=url_for("audits.Audit", audit_id=audit_id)
        )


@blp.route("/<uuid:audit_id>")
class Audit(MethodView):
    @roles("auditor", "manager", "inspector", "admin")
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, AuditOut)
    def get(self, args: dict[str, Any], audit_id: UUID) -> Any:
        """One audit as of a date: its fields, grades, moderation and actions"""
        return versioned(queries().audit(audit_id, **args))


@blp.route("/<uuid:audit_id>/moderation")
class Moderation(MethodView):
    @roles("manager")
    @blp.arguments(ModerationIn)
    @blp.response(200, AuditOut)
    def post(self, body: dict[str, Any], audit_id: UUID) -> Any:
        """Moderate: confirm or change the grade, with a rationale"""
        commands().moderate_audit(actor(), audit_id, expected_version=expected_version(), **body)
        return answer(queries().audit, audit_id)


@blp.route("/<uuid:audit_id>/corrections")
class Corrections(MethodView):
    @roles("auditor", "manager")
    @blp.arguments(CorrectionIn)
    @blp.response(200, AuditOut)
    def post(self, body: dict[str, Any], audit_id: UUID) -> Any:
        """Correct named fields, with a reason (the original stays in the history)"""
        commands().correct_audit(actor(), audit_id, expected_version=expected_version(), **body)
        return answer(queries().audit, audit_id)


@blp.route("/<uuid:audit_id>/withdrawal")
class Withdrawal(MethodView):
    @roles("auditor", "manager")
    @blp.arguments(WithdrawalIn)
    @blp.response(200, AuditOut)
    def post(self, body: dict[str, Any], audit_id: UUID) -> Any:
        """Withdraw the audit, with a reason"""
        commands().withdraw_audit(actor(), audit_id, expected_version=expected_version(), **body)
        return answer(queries().audit, audit_id)


@blp.route("/<uuid:audit_id>/history")
class History(MethodView):
    @roles("inspector", "manager", "admin")
    @blp.arguments(HistoryArgs, location="query")
    @blp.response(200, HistoryOut)
    def get(self, args: dict[str, Any], audit_id: UUID) -> Any:
        """Every change to this audit (as in the trail), with the state just after each"""
        return queries().history("audit", audit_id, **args)
