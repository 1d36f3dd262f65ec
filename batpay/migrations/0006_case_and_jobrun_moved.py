from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('batpay', '0005_jobrun'),
    ]

    operations = [
        # Case moved to plans and JobRun to operations: the tables (batpay_case, batpay_jobrun) and their rows stay.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='jobrun',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='jobrun',
                    name='parent',
                ),
                migrations.DeleteModel(
                    name='Case',
                ),
                migrations.DeleteModel(
                    name='JobRun',
                ),
            ],
        ),
    ]
