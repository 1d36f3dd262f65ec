import django.db.models.deletion
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('ledger', '0004_dtr_guard'),
        ('leases', '0002_lease_number_sequence_and_export_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist (ledger 0003, with the DTR guard of ledger 0004): this app takes over the models only.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='EarningsClose',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('period', models.DateField(unique=True)),
                        ('leases', models.PositiveIntegerField(default=0, help_text='Leases with trips in the week.')),
                        ('taxes', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('earnings', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('closed_at', models.DateTimeField(auto_now_add=True)),
                        ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'closed week of earnings',
                        'verbose_name_plural': 'closed weeks of earnings',
                        'db_table': 'ledger_earningsclose',
                        'ordering': ['-period'],
                    },
                ),
                migrations.CreateModel(
                    name='TripImport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('file_name', models.CharField(max_length=255)),
                        ('sha256', models.CharField(max_length=64, verbose_name='SHA-256 of the file')),
                        ('rows', models.PositiveIntegerField(default=0, help_text='Data rows in the file (the header not counted).')),
                        ('imported', models.PositiveIntegerField(default=0, help_text='New trips this upload added.')),
                        ('already_imported', models.PositiveIntegerField(default=0, help_text='Rows whose trip was already on file with the same figures (left as they were).')),
                        ('invalid', models.PositiveIntegerField(default=0, help_text='Rows refused for bad data; kept for review.')),
                        ('unmatched', models.PositiveIntegerField(default=0, help_text='Rows with no lease to book them to; kept.')),
                        ('late', models.PositiveIntegerField(default=0, help_text='Rows of a week already closed; kept for review.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'trip import',
                        'db_table': 'ledger_tripimport',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='DriverTransactionReport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('dtr_number', models.CharField(max_length=24, unique=True, verbose_name='DTR number')),
                        ('period', models.DateField(help_text='The payment period (its Sunday).')),
                        ('version', models.PositiveSmallIntegerField(default=1)),
                        ('status', models.CharField(choices=[('ISSUED', 'Issued'), ('VOIDED', 'Voided')], default='ISSUED', max_length=8)),
                        ('snapshot', models.JSONField()),
                        ('card_earnings', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('subtotal_of_deductions', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('prior_balance', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('balance_carried_forward', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('total_due_to_driver', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('pdf', models.FileField(blank=True, max_length=200, upload_to='dtrs/', verbose_name='PDF')),
                        ('pdf_rendered_at', models.DateTimeField(blank=True, null=True, verbose_name='PDF rendered at')),
                        ('generated_at', models.DateTimeField(auto_now_add=True)),
                        ('voided_at', models.DateTimeField(blank=True, null=True)),
                        ('void_reason', models.TextField(blank=True)),
                        ('driver', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='dtrs', to='leases.driver')),
                        ('generated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('lease', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='dtrs', to='leases.lease')),
                        ('supersedes', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='superseded_by', to='statements.drivertransactionreport')),
                        ('voided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'driver transaction report',
                        'verbose_name_plural': 'driver transaction reports',
                        'db_table': 'ledger_drivertransactionreport',
                        'ordering': ['-period', 'dtr_number'],
                        'permissions': [('void_drivertransactionreport', 'Can void and regenerate DTRs')],
                        'indexes': [models.Index(fields=['period', 'status'], name='dtr_period_status'), models.Index(fields=['driver', 'period'], name='dtr_driver_period')],
                        'constraints': [models.UniqueConstraint(fields=('lease', 'period', 'version'), name='dtr_one_version_number'), models.UniqueConstraint(condition=models.Q(('status', 'ISSUED')), fields=('lease', 'period'), name='dtr_one_issued_per_lease_period'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'ISSUED'), ('voided_at__isnull', True)), models.Q(('status', 'VOIDED'), ('voided_at__isnull', False), models.Q(('void_reason', ''), _negated=True)), _connector='OR'), name='dtr_voided_with_reason')],
                    },
                ),
                migrations.CreateModel(
                    name='Trip',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('trip_id', models.CharField(max_length=64, unique=True)),
                        ('period', models.DateField(help_text="The payment period (its Sunday) of the trip's start, New York time.")),
                        ('start_time', models.DateTimeField()),
                        ('end_time', models.DateTimeField()),
                        ('payment_type', models.CharField(choices=[('CARD', 'Card'), ('CASH', 'Cash')], max_length=4)),
                        ('fare', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('tips', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('tolls', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('mta_surcharge', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('improvement_surcharge', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('congestion_fee', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('cbdt_fee', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='CBDT fee')),
                        ('airport_fee', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('total_amount', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('driver', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='trips', to='leases.driver')),
                        ('lease', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='trips', to='leases.lease')),
                        ('medallion', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leases.medallion')),
                        ('batch', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='trips', to='statements.tripimport')),
                    ],
                    options={
                        'db_table': 'ledger_trip',
                        'ordering': ['-start_time', '-id'],
                        'permissions': [('import_trips', 'Can import trip files')],
                        'indexes': [models.Index(fields=['period', 'lease'], name='trip_period_lease'), models.Index(fields=['lease', 'start_time'], name='trip_lease_start'), models.Index(fields=['driver', 'start_time'], name='trip_driver_start')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('fare__gte', 0), ('tips__gte', 0), ('tolls__gte', 0), ('mta_surcharge__gte', 0), ('improvement_surcharge__gte', 0), ('congestion_fee__gte', 0), ('cbdt_fee__gte', 0), ('airport_fee__gte', 0)), name='trip_amounts_not_negative'), models.CheckConstraint(condition=models.Q(('total_amount', django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('fare'), '+', models.F('tips')), '+', models.F('tolls')), '+', models.F('mta_surcharge')), '+', models.F('improvement_surcharge')), '+', models.F('congestion_fee')), '+', models.F('cbdt_fee')), '+', models.F('airport_fee')))), name='trip_total_is_its_parts'), models.CheckConstraint(condition=models.Q(('end_time__gte', models.F('start_time'))), name='trip_ends_after_start')],
                    },
                ),
                migrations.CreateModel(
                    name='TripImportRow',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('line_number', models.PositiveIntegerField()),
                        ('kind', models.CharField(choices=[('INVALID', 'Bad data'), ('UNMATCHED', 'No matching lease'), ('LATE', 'Week already closed')], max_length=10)),
                        ('reason', models.TextField()),
                        ('trip_id', models.CharField(blank=True, max_length=255)),
                        ('raw', models.JSONField(default=dict, help_text='The row as it was in the file, column by column.')),
                        ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='kept_rows', to='statements.tripimport')),
                    ],
                    options={
                        'verbose_name': 'trip row kept for review',
                        'verbose_name_plural': 'trip rows kept for review',
                        'db_table': 'ledger_tripimportrow',
                        'ordering': ['batch_id', 'line_number'],
                        'indexes': [models.Index(fields=['kind', 'batch'], name='trip_row_kind_batch')],
                    },
                ),
            ],
        ),
    ]
