"""Guided entry (SPEC §4): cases that walk an API client through a flow's steps.

An app registers a flow once (in its AppConfig.ready), e.g. repairs:

    register_flow(CaseFlow(name="REPAIR", title="Enter a repair invoice",
                           steps=(CaseStep("REPAIR_ENTER_DETAILS", "Invoice details", schema, handler),),
                           permissions=("repairs.add_repairinvoice", "repairs.confirm_repairinvoice"),
                           view_permissions=("repairs.view_repairinvoice",)))

A loan flow adds step LOAN_ENTER_DETAILS the same way. Each step's data is validated against the
step's JSON schema (kept in the app), then the step's handler runs inside the submission's
transaction, so a case moves on exactly when its handler's writes commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker

from batpay.audit import AuditAction, audit
from batpay.errors import Conflict, ErrorCode, InvalidInput, NotFound
from batpay.identifiers import yearly_id
from batpay.registry import Registry
from plans.models import Case


class CaseAction(AuditAction):
    CREATE = "cases.create"
    SUBMIT = "cases.submit"


StepHandler = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class CaseStep:
    step_id: str
    title: str
    schema: Mapping[str, Any]
    # handler(data=<validated dict>, actor=<user>) → what the step made, e.g. {"repair_id": …}
    handler: StepHandler


@dataclass(frozen=True)
class CaseFlow:
    name: str
    title: str
    steps: tuple[CaseStep, ...]
    permissions: tuple[str, ...]  # to open a case of this flow and submit its steps
    view_permissions: tuple[str, ...]  # to read a case of this flow

    def step(self, step_id: str) -> CaseStep | None:
        return next((step for step in self.steps if step.step_id == step_id), None)


CASE_FLOWS: Registry[CaseFlow] = Registry("guided-entry flow")


def register_flow(flow: CaseFlow) -> None:
    for step in flow.steps:
        Draft202012Validator.check_schema(step.schema)
    CASE_FLOWS.register(flow.name, flow)


def get_flow(name: str) -> CaseFlow:
    try:
        return CASE_FLOWS.get(name)
    except LookupError:
        raise ValueError(f"unknown case flow {name!r}") from None


def load_schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def schema_errors(schema: Mapping[str, Any], data: Any) -> dict[str, list[str]]:
    """Every way `data` breaks `schema`, keyed by the offending field (dotted path for nested ones)."""
    found: dict[str, list[str]] = {}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.path)), e.message)):
        path = ".".join(str(part) for part in error.path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    found.setdefault(".".join(filter(None, [path, name])), []).append("This field is required.")
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - allowed):
                found.setdefault(".".join(filter(None, [path, name])), []).append("Not a field of this step.")
        else:
            found.setdefault(path or "data", []).append(error.message)
    return found


def case_get(*, case_no: str) -> Case:
    case = Case.objects.filter(case_no=case_no).first()
    if case is None:
        raise NotFound(f"No case {case_no}.")
    return case


def case_create(*, flow_name: str, actor) -> Case:
    """Open a case of a flow, positioned on its first step."""
    flow = get_flow(flow_name)
    with transaction.atomic(durable=True):
        case = Case.objects.create(
            case_no=yearly_id("CASE", timezone.localdate().year, 6),
            flow=flow.name,
            current_step=flow.steps[0].step_id,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit(action=CaseAction.CREATE, actor=actor, obj=case, object_id=case.case_no, payload={"flow": flow.name})
    return case


def case_submit(*, case_no: str, step_id: str, data: Any, actor) -> Case:
    """Submit the current step's data: schema-checked, then the step's handler; the case moves on
    (or completes) in the same transaction as the handler's writes."""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().filter(case_no=case_no).first()
        if case is None:
            raise NotFound(f"No case {case_no}.")
        flow = get_flow(case.flow)
        step = flow.step(step_id)
        if step is None:
            raise InvalidInput(
                f"{step_id!r} is not a step of a {flow.name} case.",
                fields={"step_id": f"One of {', '.join(s.step_id for s in flow.steps)}."},
            )
        if case.status != Case.Status.OPEN or case.current_step != step.step_id:
            raise Conflict(
                f"Case {case.case_no} is {case.status}"
                + (f" at step {case.current_step}" if case.current_step else "")
                + f"; {step.step_id} cannot be submitted now.",
                code=ErrorCode.INVALID_TRANSITION,
                fields={"step_id": f"The case expects {case.current_step or 'nothing more'}."},
            )
        errors = schema_errors(step.schema, data)
        if errors:
            first = next(iter(errors))
            raise InvalidInput(f"{first}: {errors[first][0]}", fields=errors)
        result = dict(step.handler(data=data, actor=actor))
        index = flow.steps.index(step)
        case.submitted = {**case.submitted, step.step_id: data}
        case.result = {**case.result, **result}
        if index + 1 < len(flow.steps):
            case.current_step = flow.steps[index + 1].step_id
        else:
            case.current_step = ""
            case.status = Case.Status.COMPLETED
            case.completed_at = timezone.now()
        case.save()
        audit(
            action=CaseAction.SUBMIT,
            actor=actor,
            obj=case,
            object_id=case.case_no,
            payload={"step_id": step.step_id, "result": result},
        )
    return case


def case_state(case: Case) -> dict[str, Any]:
    """A case as a client sees it: its steps (with their schemas), where it is, what it made."""
    flow = get_flow(case.flow)
    current = flow.step(case.current_step)
    current_index = flow.steps.index(current) if current else len(flow.steps)
    steps = []
    for index, step in enumerate(flow.steps):
        if index < current_index:
            state = "DONE"
        elif index == current_index:
            state = "CURRENT"
        else:
            state = "PENDING"
        steps.append(
            {
                "step_id": step.step_id,
                "title": step.title,
                "status": state,
                "schema": step.schema,
                "data": case.submitted.get(step.step_id),
            }
        )
    return {
        "case_no": case.case_no,
        "flow": case.flow,
        "title": flow.title,
        "status": case.status,
        "current_step": case.current_step or None,
        "steps": steps,
        "result": case.result,
        "created_at": case.created_at,
        "completed_at": case.completed_at,
    }
