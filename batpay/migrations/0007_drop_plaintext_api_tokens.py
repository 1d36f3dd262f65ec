from django.db import migrations


class Migration(migrations.Migration):
    """API tokens moved to django-rest-knox, which stores only a digest. The old DRF tokens were kept
    in plain text: their table goes, and with it every old token (users log in again). Its content type
    and permissions stay until `manage.py remove_stale_contenttypes`."""

    dependencies = [
        ('batpay', '0006_case_and_jobrun_moved'),
        ('knox', '0009_extend_authtoken_field'),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "DROP TABLE IF EXISTS authtoken_token",
                # So that rest_framework.authtoken, were it ever installed again, would create its table anew.
                "DELETE FROM django_migrations WHERE app = 'authtoken'",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
