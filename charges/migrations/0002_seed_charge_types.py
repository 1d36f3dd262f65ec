from django.db import migrations

TYPES = [
    ("Lost key", "A replacement for a lost vehicle key."),
    ("Cleaning", "Cleaning the vehicle beyond normal wear."),
    ("Accident deductible", "The driver's share of an accident repair."),
    ("Lost equipment", "Meter, camera or partition not returned."),
    ("Administrative fee", "Paperwork the driver asked for."),
]


def seed(apps, schema_editor):
    MiscChargeType = apps.get_model("charges", "MiscChargeType")
    for name, description in TYPES:
        MiscChargeType.objects.get_or_create(name=name, defaults={"description": description})


class Migration(migrations.Migration):
    dependencies = [("charges", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
