"""Audit actions are enums: a write names its action by member, and a bare string is refused."""

import pytest

from batpay.audit import AuditAction, audit
from batpay.models import AuditEvent
from lease_schedules.services import LEASES
from plans.lifecycle import Transition
from repairs.plan import REPAIRS


def test_a_string_is_not_an_action(db):
    with pytest.raises(TypeError, match="not an AuditAction"):
        audit(action="repairs.confirm", actor=None)
    assert not AuditEvent.objects.exists()


def test_each_plan_source_has_its_own_actions_named_for_it():
    assert REPAIRS.action(Transition.CONFIRM) == "repairs.confirm"
    assert isinstance(REPAIRS.action("post_due_installments"), AuditAction)
    assert LEASES.action(Transition.CANCEL) == "leases.cancel"
    assert {action.value for action in REPAIRS.actions} >= {"repairs.create", "repairs.update", "repairs.reopen"}
    with pytest.raises(KeyError):
        REPAIRS.action("approve")


def test_the_member_is_stored_as_its_value(db):
    event = audit(action=REPAIRS.action("create"), actor=None, object_type="repairs.RepairInvoice", object_id="1")
    assert AuditEvent.objects.get(pk=event.pk).action == "repairs.create"
