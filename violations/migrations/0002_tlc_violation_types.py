from django.db import migrations

TYPES = ("Failure to Inspect", "Failure to Comply", "Reinspection Fee", "Directive", "Enforcement Action")


def seed(apps, schema_editor):
    TlcViolationType = apps.get_model("violations", "TlcViolationType")
    for name in TYPES:
        TlcViolationType.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("violations", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
