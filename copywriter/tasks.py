"""Thin Celery tasks: job ids in, services do the work (generation on `inference`, training on `training`).

Each kind declares its parameters with bounds (ecomops.job_params): the generic jobs API accepts nothing else.
"""

from __future__ import annotations

from rest_framework import serializers

from copywriter.api.serializers import CopywriterGenerationOptionsSerializer
from copywriter.models import CopywriterModel
from copywriter.services.generation import BATCH_SIZE, GENERATE_JOB_KIND, MAX_PRODUCTS_PER_JOB, run_generation_job
from copywriter.services.training import TRAIN_JOB_KIND, run_training_job
from ecomops.job_params import JobParamsSerializer
from ecomops.models import Product
from ecomops.tasks_base import job_task


class GenerateParams(JobParamsSerializer):
    product_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1,
                                        max_length=MAX_PRODUCTS_PER_JOB, help_text="Products of this store.")
    options = CopywriterGenerationOptionsSerializer(required=False)
    stream = serializers.BooleanField(required=False, default=False)
    version_id = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                          help_text="A model version of this store; empty: the base model.")
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=32, default=BATCH_SIZE)
    max_new_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=8, max_value=512)

    def validate_product_ids(self, ids: list[int]) -> list[int]:
        store = self.context.get("store")
        found = set(Product.objects.for_store(store).filter(pk__in=ids).values_list("pk", flat=True))
        if missing := [i for i in ids if i not in found]:
            raise serializers.ValidationError(f"{len(missing)} product id(s) are not products of this store.")
        return ids

    def validate_version_id(self, value: int | None) -> int | None:
        if value is not None and not CopywriterModel.objects.for_store(self.context.get("store")).filter(pk=value).exists():
            raise serializers.ValidationError("Not a model version of this store.")
        return value


class TrainParams(JobParamsSerializer):
    epochs = serializers.IntegerField(required=False, min_value=1, max_value=20, default=1)
    method = serializers.ChoiceField(choices=["lora", "full"], required=False, default="lora")
    max_steps = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5000)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=32, default=8)
    eval_every = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=10)
    max_len = serializers.IntegerField(required=False, min_value=32, max_value=1024, default=256)


@job_task(kind=GENERATE_JOB_KIND, queue="inference", label="Generate product descriptions", time_limit=3600,
          params=GenerateParams, max_concurrent=5)
def copywriter_generate(job, **params):
    return run_generation_job(job, **params)


@job_task(kind=TRAIN_JOB_KIND, queue="training", label="Fine-tune the copywriter model", time_limit=3 * 3600,
          params=TrainParams, max_concurrent=2)
def copywriter_train(job, **params):
    return run_training_job(job, **params)
