from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0005_job_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="school",
            name="suspended_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="suspended at"
            ),
        ),
        migrations.AddField(
            model_name="school",
            name="suspended_reason",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=500,
                verbose_name="reason for the suspension",
            ),
        ),
    ]
