"""Drop the single-column indexes of six foreign keys (see runs.models above FlowRun).

Django would alter each field by rebuilding its table on SQLite (twice for runs_flowrun),
which on a database of a million runs takes minutes at the next start. Only the indexes go,
each by the name Django gave it, and only the fields' recorded state changes."""

import django.db.models.deletion
from django.db import migrations, models

# (model, field) whose own index is dropped.
UNINDEXED = [
    ("flowrun", "flow"),
    ("flowrun", "state"),
    ("flowrunstate", "flow_run"),
    ("taskrun", "flow_run"),
    ("taskrun", "state"),
    ("taskrunstate", "task_run"),
]


def _indexes(apps, schema_editor):
    for model_name, field_name in UNINDEXED:
        model = apps.get_model("runs", model_name)
        column = model._meta.get_field(field_name).column
        table = model._meta.db_table
        yield schema_editor._create_index_name(table, [column]), table, column


def drop_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, _table, _column in _indexes(apps, schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def create_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, table, column in _indexes(apps, schema_editor):
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)})")


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0006_flow_run_history_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name='flowrun',
                    name='flow',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='runs.flow'),
                ),
                migrations.AlterField(
                    model_name='flowrun',
                    name='state',
                    field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='runs.flowrunstate'),
                ),
                migrations.AlterField(
                    model_name='flowrunstate',
                    name='flow_run',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='states', to='runs.flowrun'),
                ),
                migrations.AlterField(
                    model_name='taskrun',
                    name='flow_run',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='task_runs', to='runs.flowrun'),
                ),
                migrations.AlterField(
                    model_name='taskrun',
                    name='state',
                    field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='runs.taskrunstate'),
                ),
                migrations.AlterField(
                    model_name='taskrunstate',
                    name='task_run',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='states', to='runs.taskrun'),
                ),

            ],
        ),
    ]
