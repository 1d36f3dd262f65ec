"""The one installment-plan mechanism (SPEC §4) that repairs, loans and lease schedules share.

- `matrix`    — the repayment matrix: a plan amount split into weekly installments.
- `schedule`  — start week resolution (CURRENT, NEXT or a Sunday) and schedule building.
- `lifecycle` — plan and installment statuses and the transition table, one function per transition.
- `models`    — abstract `Plan` and `Installment` models an app subclasses.
- `source`    — `PlanSource`, the few lines that plug an app's models into the mechanism, and the
                registry (`PLAN_SOURCES`) the weekly posting command and the metrics read.
- `services`  — the generic writes: entry checks, schedule, update, confirm, status changes,
                posting, paid-state sync, and `register_source` (which also subscribes the
                paid-state sync to the ledger's balance listeners).
- `cases`     — guided entry: the flows an app registers (`CASE_FLOWS`) and the case steps.
- `selectors` — the generic reads: ledger totals per plan, statistics.
- `exports`, `api` — the interface pieces every plan API shares; `metrics` — the collector.

How an app plugs in (loans, lease schedules), with repairs as the worked example:

1. Models: `class Loan(Plan)` with `plan_id_field = "loan_id"` and its own fields;
   `class LoanInstallment(Installment)` with `plan = ForeignKey(Loan, related_name="installments")`,
   a unique (plan, sequence) constraint, and its own columns (principal_amount, interest_amount;
   `amount` is the total due, which is what is posted).
2. `LOANS = PlanSource(name="loans", category="LOANS", plan_model=Loan, installment_model=
   LoanInstallment, id_prefix="DL", id_width=4, label="Loan")` and `services.register_source(LOANS)`
   in the AppConfig's ready(): `manage.py post_due_installments --source loans|all`, the
   paid-state listener and the metrics follow.
3. Services: the app cleans its own input (into a dataclass `services.set_entered` puts on the
   plan) and builds its `ScheduledInstallment`s (`schedule.build_schedule` over
   `matrix.split_amount`, adding per-installment columns in `extra`; a lease schedule builds its
   prorated weeks itself). Creating is `new_plan` + the app's save + `add_plan`; editing,
   confirming, status changes and manual posting are the shared `plan_update`, `plan_confirm`,
   `plan_change_status` and `plan_installments_post`, parameterised by the source (its `fields`
   and `editable_after_confirmation`) and two hooks of the app's (`readers`, `rebuild`). The
   app's named services (`loan_confirm`, …) are one-line delegations that keep the names callers use.
4. API: subclass `api.PlanViewSet` / `api.PlanInstallmentViewSet` with the source, a `PlanWrites`
   of the app's services, serializers, filters and export columns; register a `plans.cases`
   flow for guided entry (`case_flow = "LOAN"`).
"""
