"""A DTR is a snapshot: once written, the database refuses to change what it says.

Only two things may change on a DTR row: its stored PDF (rendered after it was generated, or
again once it is voided), and its status ISSUED → VOIDED together with who voided it, when and
why. DELETE is refused, so a report handed to a driver can always be found again.
"""

from django.db import migrations

GUARD = """
CREATE FUNCTION ledger_dtr_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mutable CONSTANT text[] := ARRAY['pdf', 'pdf_rendered_at'];
    voiding CONSTANT text[] := ARRAY['status', 'voided_by_id', 'voided_at', 'void_reason'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'DTR % cannot be deleted; void it instead', OLD.dtr_number
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (to_jsonb(NEW) - mutable) = (to_jsonb(OLD) - mutable) THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'ISSUED' AND NEW.status = 'VOIDED'
       AND (to_jsonb(NEW) - mutable - voiding) = (to_jsonb(OLD) - mutable - voiding) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'DTR % is a snapshot: only its PDF and ISSUED -> VOIDED may change', OLD.dtr_number
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledger_dtr_guard
BEFORE UPDATE OR DELETE ON ledger_drivertransactionreport
FOR EACH ROW EXECUTE FUNCTION ledger_dtr_guard();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS ledger_dtr_guard ON ledger_drivertransactionreport;
DROP FUNCTION IF EXISTS ledger_dtr_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_trips_and_dtrs")]

    operations = [migrations.RunSQL(GUARD, UNGUARD)]
