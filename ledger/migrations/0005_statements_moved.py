from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_dtr_guard'),
    ]

    operations = [
        # Trips, the weekly close and DTRs moved to the statements app: their tables (ledger_trip, …), rows and triggers stay.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='earningsclose',
                    name='closed_by',
                ),
                migrations.RemoveField(
                    model_name='trip',
                    name='batch',
                ),
                migrations.RemoveField(
                    model_name='trip',
                    name='driver',
                ),
                migrations.RemoveField(
                    model_name='trip',
                    name='lease',
                ),
                migrations.RemoveField(
                    model_name='trip',
                    name='medallion',
                ),
                migrations.RemoveField(
                    model_name='tripimport',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='tripimportrow',
                    name='batch',
                ),
                migrations.DeleteModel(
                    name='DriverTransactionReport',
                ),
                migrations.DeleteModel(
                    name='EarningsClose',
                ),
                migrations.DeleteModel(
                    name='Trip',
                ),
                migrations.DeleteModel(
                    name='TripImport',
                ),
                migrations.DeleteModel(
                    name='TripImportRow',
                ),
            ],
        ),
    ]
