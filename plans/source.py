"""`PlanSource`: how an app plugs its plan models into the shared mechanism, and the registry.

An app describes its plans once and registers the description in its AppConfig.ready():

    REPAIRS = PlanSource(name="repairs", category="REPAIRS", plan_model=RepairInvoice,
                         installment_model=RepairInstallment, id_prefix="RPR", id_width=3, label="Repair",
                         obligation_paths={..., "vehicle_id": "plan__vehicle_id"},
                         noun="repair", document="invoice", fields=("driver_id", …, "start_week"),
                         editable_after_confirmation={"repair_description": "description"})
    register_source(REPAIRS)   # plans.services

Registration (`plans.services.register_source`) makes the source known to `manage.py
post_due_installments --source <name>` (and to `--source all`), to the metrics collector, and
subscribes the paid-state sync to the ledger's balance changes of the source's category.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from batpay.audit import AuditAction
from batpay.identifiers import yearly_id
from batpay.registry import Registry
from plans.lifecycle import Transition
from plans.models import Installment, Plan

DEFAULT_OBLIGATION_PATHS: Mapping[str, str] = {"driver_id": "plan__driver_id", "lease_id": "plan__lease_id"}


# What is done to a source's plans, each audited as `<source>.<verb>` (`repairs.confirm`).
PLAN_VERBS = (
    "create",
    "update",
    *(transition.value for transition in Transition),
    "post_installments",
    "post_due_installments",
    "cancel_installments",
)


@dataclass(frozen=True, eq=False)
class PlanSource:
    name: str  # the posting command's --source and the audit action prefix: "repairs"
    category: str  # the ledger category its installments are posted under: "REPAIRS"
    plan_model: type[Plan]
    installment_model: type[Installment]
    id_prefix: str  # "RPR" → plan ids RPR-2025-001, installment ids RPR-2025-001-01
    id_width: int  # digits of the yearly number (it grows past the width when needed)
    label: str  # how ledger descriptions name a plan: "Repair RPR-2025-001 installment 2"
    # ObligationRow fields (driver_id, lease_id, vehicle_id, medallion_id) → a path from the
    # installment model, read in the one query that posts a batch.
    obligation_paths: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OBLIGATION_PATHS))
    # What the services keyed by plan id (`plans.services.plan_update`, `plan_confirm`, …) need to
    # know; a source whose plans only its own code writes (lease schedules) leaves them out.
    noun: str = "plan"  # how errors name a plan: "No repair RPR-2025-001.", "Not a repair field."
    document: str = "plan"  # what is confirmed: "Cannot change once the invoice is OPEN."
    fields: tuple[str, ...] = ()  # what an edit may send: the plan model's attribute names
    # The fields that may still change once the plan is confirmed, each with the name the refusal
    # of any other change gives it: "… after confirmation only the description can change."
    editable_after_confirmation: Mapping[str, str] = field(default_factory=dict)

    # `<source>.<verb>` for each of PLAN_VERBS, as an enum of its own (`actions.CONFIRM`).
    actions: type[AuditAction] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        members = {verb.upper(): f"{self.name}.{verb}" for verb in PLAN_VERBS}
        object.__setattr__(self, "actions", AuditAction(f"{self.name.title()}PlanAction", members))

    def action(self, verb: str) -> AuditAction:
        """The audit action of `verb` (one of PLAN_VERBS, a Transition) on this source's plans."""
        return self.actions[str(verb).upper()]

    def new_plan_id(self, *, year: int) -> str:
        """The next plan id of `year`, race-free; call it inside the creating transaction."""
        return yearly_id(self.id_prefix, year, self.id_width)

    @staticmethod
    def installment_id(plan_id: str, sequence: int) -> str:
        return f"{plan_id}-{sequence:02d}"

    @property
    def plan_id_path(self) -> str:
        """The plan id seen from an installment, for queries: `plan__repair_id`."""
        return f"plan__{self.plan_model.plan_id_field}"

    def describe(self, *, plan_id: str, sequence: int) -> str:
        return f"{self.label} {plan_id} installment {sequence}"

    def prepare_posting(self, *, period: dt.date, actor) -> dict:
        """Runs before the weekly job (`operations.jobs.run_posting_job`) posts `period`, outside any
        transaction; returns figures for the job's record. Lease schedules roll their horizon
        forward here; a plan whose installments are all written up front has nothing to do."""
        return {}


PLAN_SOURCES: Registry[PlanSource] = Registry("plan source")


def get_source(name: str) -> PlanSource:
    try:
        return PLAN_SOURCES.get(name)
    except LookupError as exc:
        raise ValueError(str(exc)) from None


def registered_sources() -> list[PlanSource]:
    return list(PLAN_SOURCES)
