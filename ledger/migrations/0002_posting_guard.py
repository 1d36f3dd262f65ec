"""Postings are append-only in the database itself, whatever code runs against it.

The only UPDATE allowed is status POSTED → VOIDED with every other column unchanged, and only
once the posting's reversal exists (the service inserts the reversal first, in the same
transaction). DELETE is refused.
"""

from django.db import migrations

GUARD = """
CREATE FUNCTION ledger_posting_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger postings are append-only: DELETE of posting % refused', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status = 'POSTED' AND NEW.status = 'VOIDED'
       AND (to_jsonb(NEW) - 'status') = (to_jsonb(OLD) - 'status') THEN
        IF NOT EXISTS (SELECT 1 FROM ledger_posting WHERE reverses_id = OLD.id) THEN
            RAISE EXCEPTION 'posting % can only be voided together with its reversal', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger postings are immutable: only POSTED -> VOIDED may change (posting %)', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledger_posting_guard
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_guard();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS ledger_posting_guard ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(GUARD, UNGUARD)]
