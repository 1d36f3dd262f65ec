import django.core.serializers.json
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('batpay', '0005_jobrun'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The table batpay_jobrun exists (batpay 0005): this app takes over the model only.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='JobRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('job', models.CharField(help_text='The task name: leases.post_due_installments, ledger.weekly_close…', max_length=64)),
                        ('period', models.DateField(help_text='The Sunday of the payment period the job worked on.')),
                        ('status', models.CharField(choices=[('RUNNING', 'Running'), ('SUCCEEDED', 'Succeeded'), ('FAILED', 'Failed'), ('INTERRUPTED', 'Interrupted (the process stopped)')], default='RUNNING', max_length=16)),
                        ('trigger', models.CharField(choices=[('TASK', 'Celery task'), ('COMMAND', 'manage.py command'), ('CALL', 'Direct call')], max_length=16)),
                        ('task_id', models.CharField(blank=True, help_text='The Celery task id, when a worker ran it.', max_length=64)),
                        ('host', models.CharField(blank=True, help_text='host:pid of the process that ran it.', max_length=128)),
                        ('started_at', models.DateTimeField()),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('count', models.BigIntegerField(default=0, help_text='What the job did: installments posted, steps run…')),
                        ('amount', models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                        ('details', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder)),
                        ('errors', models.TextField(blank=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('parent', models.ForeignKey(blank=True, help_text='The weekly close this run was part of.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='children', to='operations.jobrun')),
                    ],
                    options={
                        'db_table': 'batpay_jobrun',
                        'ordering': ['-started_at', '-id'],
                        'permissions': [('run_jobrun', 'Can run scheduled jobs now for a period')],
                        'default_permissions': ('view',),
                        'indexes': [models.Index(fields=['job', 'period', 'status'], name='jobrun_job_period')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'RUNNING')), fields=('job', 'period'), name='jobrun_one_running_per_period'), models.CheckConstraint(condition=models.Q(models.Q(('finished_at__isnull', True), ('status', 'RUNNING')), models.Q(models.Q(('status', 'RUNNING'), _negated=True), ('finished_at__isnull', False)), _connector='OR'), name='jobrun_finished_unless_running')],
                    },
                ),
            ],
        ),
    ]
