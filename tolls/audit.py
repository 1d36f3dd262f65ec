from batpay.audit import AuditAction


class TollAction(AuditAction):
    IMPORT_TOLLS = "tolls.import"
    POST_DUE = "tolls.post_due"
    REASSIGN = "tolls.reassign"
    REVERSE = "tolls.reverse"
    SAVE_TAG = "tolls.save_tag"
