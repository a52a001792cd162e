"""What the product page's Generate form sends must pass the job kind's declared parameters (the worker validates
the row again before it runs: a comma-string of keywords once failed every browser-started job in 0.07 s)."""

import pytest

from copywriter.services import generation as services
from copywriter.tasks import GenerateParams
from ecomops.job_params import params_validate
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_forms_options_are_valid_job_parameters(store, owner):
    ProductFactory(store=store, sku="S1", title="Linen Shirt", attributes={"colour": "White"})
    job = services.generation_start(store=store, user=owner, skus=["S1"], stream=True, options={
        "tone": "neutral", "length": "short", "keywords": "breathable, summer", "avoid_words": "cheap", "audience": "", "brand_voice": ""})
    _, params = params_validate(GenerateParams, job.params, store=store)
    assert params["options"]["keywords"] == ["breathable", "summer"] and params["options"]["avoid_words"] == ["cheap"]
