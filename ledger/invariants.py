"""The ledger's invariants (SPEC §3), checked over the whole ledger in a few SQL statements.

`manage.py check_ledger` prints them; every test scenario ends by asserting there are none.
"""

from __future__ import annotations

from django.db import connection

from ledger.due import DUE_RECEIPT_SQL

CHECKS: list[tuple[str, str]] = [
    (
        "1. outstanding = debits − credits, 0 ≤ outstanding ≤ original, CLOSED iff 0",
        """
        SELECT 'balance ' || b.id || ' (' || b.category || ' ' || b.source_reference || '): outstanding '
               || b.outstanding || ', postings say ' || COALESCE(s.net, 0) || ', status ' || b.status
        FROM ledger_obligationbalance b
        LEFT JOIN (
            SELECT obligation_id, SUM(CASE entry_type WHEN 'DEBIT' THEN amount ELSE -amount END) AS net
            FROM ledger_posting WHERE obligation_id IS NOT NULL GROUP BY obligation_id
        ) s ON s.obligation_id = b.id
        WHERE b.outstanding <> COALESCE(s.net, 0) OR b.outstanding < 0 OR b.outstanding > b.original_amount
           OR (b.status = 'CLOSED') <> (b.outstanding = 0)
        """,
    ),
    (
        "1b. each balance has exactly one original charge of its original amount, in its category",
        """
        SELECT 'balance ' || b.id || ' (' || b.category || ' ' || b.source_reference || '): '
               || COUNT(p.id) || ' original charge(s) totalling ' || COALESCE(SUM(p.amount), 0)
        FROM ledger_obligationbalance b
        LEFT JOIN ledger_posting p ON p.obligation_id = b.id AND p.entry_type = 'DEBIT'
             AND p.reverses_id IS NULL AND p.receipt_id IS NULL
        GROUP BY b.id
        HAVING COUNT(p.id) <> 1 OR SUM(p.amount) <> b.original_amount
        UNION ALL
        SELECT 'posting ' || p.id || ' is ' || p.category || ' but its balance ' || b.id || ' is ' || b.category
               || ' (or driver/lease differ)'
        FROM ledger_posting p JOIN ledger_obligationbalance b ON b.id = p.obligation_id
        WHERE p.category <> b.category OR p.driver_id <> b.driver_id OR p.lease_id <> b.lease_id
        """,
    ),
    (
        "2. receipt amount = its credits, payouts included (net of reversals) + unapplied + refunded",
        """
        SELECT 'receipt ' || r.id || ': amount ' || r.amount || ' but applied ' || COALESCE(s.net, 0)
               || ' + unapplied ' || r.unapplied || ' + refunded ' || COALESCE(f.refunded, 0)
        FROM ledger_receipt r
        LEFT JOIN (
            SELECT receipt_id, SUM(CASE entry_type WHEN 'CREDIT' THEN amount ELSE -amount END) AS net
            FROM ledger_posting WHERE receipt_id IS NOT NULL GROUP BY receipt_id
        ) s ON s.receipt_id = r.id
        LEFT JOIN (SELECT receipt_id, SUM(amount) AS refunded FROM ledger_refund GROUP BY receipt_id) f
            ON f.receipt_id = r.id
        WHERE r.amount <> COALESCE(s.net, 0) + r.unapplied + COALESCE(f.refunded, 0) OR r.unapplied < 0
        UNION ALL
        SELECT 'refund ' || f.id || ' is for driver/lease ' || f.driver_id || '/' || f.lease_id
               || ' but its receipt ' || r.id || ' is ' || r.driver_id || '/' || r.lease_id
        FROM ledger_refund f JOIN ledger_receipt r ON r.id = f.receipt_id
        WHERE f.driver_id <> r.driver_id OR f.lease_id <> r.lease_id
        """,
    ),
    (
        "2b. a payout is a CREDIT of category PAYOUT on a receipt with no obligation (its reversal a DEBIT)",
        """
        SELECT 'posting ' || p.id || ' (' || p.entry_type || ' ' || p.category || '): '
               || CASE WHEN p.category = 'PAYOUT' THEN 'a payout with an obligation, no receipt or wrong direction'
                       ELSE 'a posting without an obligation that is not a payout' END
        FROM ledger_posting p
        WHERE (p.category = 'PAYOUT'
               AND (p.obligation_id IS NOT NULL OR p.receipt_id IS NULL
                    OR p.entry_type <> CASE WHEN p.reverses_id IS NULL THEN 'CREDIT' ELSE 'DEBIT' END))
           OR (p.category <> 'PAYOUT' AND p.obligation_id IS NULL)
        UNION ALL
        SELECT 'posting ' || p.id || ' is for driver/lease ' || p.driver_id || '/' || p.lease_id
               || ' but its receipt ' || r.id || ' is ' || r.driver_id || '/' || r.lease_id
        FROM ledger_posting p JOIN ledger_receipt r ON r.id = p.receipt_id
        WHERE p.category = 'PAYOUT' AND (p.driver_id <> r.driver_id OR p.lease_id <> r.lease_id)
        """,
    ),
    (
        "6. per driver: received = applied to charges + paid out + still due + credit held + refunded",
        f"""
        SELECT 'driver ' || x.driver_id || ': received ' || x.received || ' but applied ' || x.applied
               || ' + paid out ' || x.paid_out || ' + still due ' || x.still_due || ' + credit held '
               || x.held || ' + refunded ' || x.refunded
        FROM (
            SELECT r.driver_id, SUM(r.amount) AS received,
                   COALESCE(SUM(s.applied), 0) AS applied, COALESCE(SUM(s.paid_out), 0) AS paid_out,
                   COALESCE(SUM(r.unapplied) FILTER (WHERE {DUE_RECEIPT_SQL}), 0) AS still_due,
                   COALESCE(SUM(r.unapplied) FILTER (WHERE NOT {DUE_RECEIPT_SQL}), 0) AS held,
                   COALESCE(SUM(f.refunded), 0) AS refunded
            FROM ledger_receipt r
            LEFT JOIN (
                SELECT receipt_id,
                       SUM(CASE entry_type WHEN 'CREDIT' THEN amount ELSE -amount END)
                           FILTER (WHERE obligation_id IS NOT NULL) AS applied,
                       SUM(CASE entry_type WHEN 'CREDIT' THEN amount ELSE -amount END)
                           FILTER (WHERE category = 'PAYOUT') AS paid_out
                FROM ledger_posting WHERE receipt_id IS NOT NULL GROUP BY receipt_id
            ) s ON s.receipt_id = r.id
            LEFT JOIN (SELECT receipt_id, SUM(amount) AS refunded FROM ledger_refund GROUP BY receipt_id) f
                ON f.receipt_id = r.id
            GROUP BY r.driver_id
        ) x
        WHERE x.received <> x.applied + x.paid_out + x.still_due + x.held + x.refunded OR x.paid_out < 0
        """,
    ),
    (
        "3. a VOIDED posting has exactly one reversal of the same amount, opposite direction",
        """
        SELECT 'posting ' || o.id || ' (' || o.status || '): reversal ' || COALESCE(r.id::text, 'missing')
        FROM ledger_posting o LEFT JOIN ledger_posting r ON r.reverses_id = o.id
        WHERE (o.status = 'VOIDED' AND (r.id IS NULL OR r.amount <> o.amount OR r.entry_type = o.entry_type
                                        OR r.obligation_id IS DISTINCT FROM o.obligation_id
                                        OR r.receipt_id IS DISTINCT FROM o.receipt_id))
           OR (o.status = 'POSTED' AND r.id IS NOT NULL)
        UNION ALL
        SELECT 'reversal ' || r.id || ' is itself voided or reversed'
        FROM ledger_posting r WHERE r.reverses_id IS NOT NULL
          AND (r.status <> 'POSTED' OR EXISTS (SELECT 1 FROM ledger_posting x WHERE x.reverses_id = r.id))
        """,
    ),
    (
        "4. one posting per idempotency key, one balance per source (re-runs change nothing)",
        """
        SELECT 'idempotency key ' || idempotency_key || ' used ' || COUNT(*) || ' times'
        FROM ledger_posting GROUP BY idempotency_key HAVING COUNT(*) > 1
        UNION ALL
        SELECT 'source ' || category || ' ' || source_reference || ' has ' || COUNT(*) || ' balances'
        FROM ledger_obligationbalance GROUP BY category, source_reference HAVING COUNT(*) > 1
        """,
    ),
    (
        "5. no balance and no receipt is ever negative as of any date (ledger/effective.py)",
        """
        SELECT 'balance ' || obligation_id || ' is ' || as_of || ' as of ' || effective_date
        FROM (
            SELECT obligation_id, effective_date,
                   SUM(SUM(CASE entry_type WHEN 'DEBIT' THEN amount ELSE -amount END))
                       OVER (PARTITION BY obligation_id ORDER BY effective_date) AS as_of
            FROM ledger_posting WHERE obligation_id IS NOT NULL GROUP BY obligation_id, effective_date
        ) b WHERE as_of < 0
        UNION ALL
        SELECT 'receipt ' || x.receipt_id || ' has spent ' || x.spent || ' of ' || r.amount
               || ' as of ' || x.effective_date
        FROM (
            SELECT receipt_id, effective_date,
                   SUM(SUM(CASE entry_type WHEN 'CREDIT' THEN amount ELSE -amount END))
                       OVER (PARTITION BY receipt_id ORDER BY effective_date) AS spent
            FROM ledger_posting WHERE receipt_id IS NOT NULL GROUP BY receipt_id, effective_date
        ) x JOIN ledger_receipt r ON r.id = x.receipt_id
        WHERE x.spent > r.amount
        """,
    ),
]


def violations(limit: int = 50, *, analyze: bool = False) -> list[str]:
    """Every broken invariant, as readable lines (an empty list when the ledger is sound).

    `analyze` refreshes the planner's statistics first: right after a bulk load they are stale
    and the checks' joins would be planned as nested loops.
    """
    found: list[str] = []
    with connection.cursor() as cursor:
        if analyze:
            cursor.execute("ANALYZE ledger_obligationbalance, ledger_receipt, ledger_posting")
        for title, sql in CHECKS:
            cursor.execute(f"SELECT * FROM ({sql}) v LIMIT %s", [limit])
            found.extend(f"{title}: {row[0]}" for row in cursor.fetchall())
    return found
