"""The groups of SPEC §8. Their permissions are granted after migrate (batpay.roles)."""

from django.db import migrations

ROLES = ("Finance", "Cashier", "Manager", "Controller")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("batpay", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
