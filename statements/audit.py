from batpay.audit import AuditAction


class StatementAction(AuditAction):
    # Named `ledger.…` since these writes began in the ledger app; the trail keeps one name per action.
    IMPORT_TRIPS = "ledger.import_trips"
    CLOSE_EARNINGS = "ledger.close_earnings"
    GENERATE_DTRS = "ledger.generate_dtrs"
    VOID_DTR = "ledger.void_dtr"
