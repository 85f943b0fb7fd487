"""The custom run form of a deployment (`/deployments/deployment/<id>/run`): a field per
parameter of the deployment's schema, defaults prefilled, errors beside their fields, and a
run created the way `POST /api/deployments/{id}/create_flow_run` creates one."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client

from deployments import domain, pools
from deployments.models import Deployment
from deployments.run_form import parameters_of, resolve
from runs.choices import StateType
from runs.models import Flow, FlowRun

pytestmark = pytest.mark.django_db

# What the Prefect client sends for
#   def etl(name: str, count: int = 2, color: Color = Color.red, dry_run: bool = True,
#           ids: list[int] | None = None, ratio: float | None = None, options: dict = {}): ...
# pydantic's JSON Schema, with Prefect's `position` and `definitions`.
SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "name": {"title": "name", "position": 0, "type": "string", "description": "Who to greet"},
        "count": {"title": "count", "position": 1, "type": "integer", "default": 2, "minimum": 1},
        "color": {"position": 2, "allOf": [{"$ref": "#/definitions/Color"}], "default": "red"},
        "dry_run": {"title": "dry_run", "position": 3, "type": "boolean", "default": True},
        "ids": {
            "title": "ids",
            "position": 4,
            "anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}],
            "default": None,
        },
        "ratio": {"title": "ratio", "position": 5, "anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
        "options": {"title": "options", "position": 6, "type": "object", "default": {}},
    },
    "required": ["name"],
    "definitions": {"Color": {"title": "Color", "enum": ["red", "blue"], "type": "string"}},
}


def deploy(flow: Flow, name: str = "nightly", **data) -> Deployment:
    body = {"flow_id": flow.id, "name": name, **data}
    deployment, _ = domain.save_deployment(body, set(body))
    return deployment


def run_url(deployment: Deployment) -> str:
    return f"/deployments/deployment/{deployment.pk}/run"


def form_page(client: Client, deployment: Deployment) -> str:
    response = client.get(run_url(deployment))
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def field_block(markup: str, name: str) -> str:
    """The markup of one field of the form, up to the next field or the end of its group."""
    start = markup.index(f'id="field-{name}"')
    ends = [markup.find(mark, start + 1) for mark in ('class="form-field', "</fieldset>")]
    return markup[start : min(end for end in ends if end > 0)]


def custom(**fields) -> dict:
    """A POST of the custom form: the marker, a start, and the fields given."""
    return {"custom": "1", "start": "now", **fields}


def the_run(deployment: Deployment) -> FlowRun:
    return FlowRun.objects.get(deployment_id=deployment.pk)


def errors_of(markup: str, name: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'<p class="field-error">([^<]+)</p>', field_block(markup, name))]


# Reading the schema


def test_the_schema_is_read_in_the_flows_order_with_refs_and_optionals_resolved():
    found = parameters_of(SCHEMA)

    assert [(p.name, p.kind, p.required) for p in found] == [
        ("name", "string", True),
        ("count", "integer", False),
        ("color", "enum", False),
        ("dry_run", "boolean", False),
        ("ids", "json", False),
        ("ratio", "number", False),
        ("options", "json", False),
    ]
    color = found[2]
    assert color.choices == ["red", "blue"] and color.default == "red" and color.title == "Color"
    assert found[4].hint == "JSON list" and found[6].hint == "JSON object"


def test_positions_order_the_parameters_whatever_the_order_of_the_properties():
    schema = {"type": "object", "properties": {"b": {"type": "string", "position": 1}, "a": {"position": 0}}}

    assert [p.name for p in parameters_of(schema)] == ["a", "b"]


def test_a_schema_without_properties_means_no_parameters_and_no_schema_means_json():
    assert parameters_of({"type": "object", "properties": {}}) == []
    assert parameters_of(None) is None
    assert parameters_of({"type": "object"}) is None


def test_a_ref_that_leads_nowhere_or_in_a_circle_is_a_json_field():
    schema = {"definitions": {"Loop": {"$ref": "#/definitions/Loop"}}}

    assert resolve({"$ref": "#/definitions/Missing"}, schema) == {}
    assert "type" not in resolve({"$ref": "#/definitions/Loop"}, schema)
    assert parameters_of({"properties": {"x": {"$ref": "#/definitions/Loop"}}, **schema})[0].kind == "json"


# The form


def test_each_parameter_gets_the_field_its_type_asks_for_with_defaults_prefilled(client, flow):
    deployment = deploy(flow, parameters={"name": "world", "ids": [1, 2]}, parameter_openapi_schema=SCHEMA)

    markup = form_page(client, deployment)

    name = field_block(markup, "param-name")
    assert re.search(r'<input type="text" name="param-name" value="world"[^>]* required', name)
    assert '<span class="required" title="required">*</span>' in name and "Who to greet" in name
    assert re.search(r'<input type="number" name="param-count" value="2"', markup)
    assert '<option value="&quot;red&quot;" selected>red</option>' in markup
    assert '<option value="&quot;blue&quot;">blue</option>' in markup
    assert re.search(r'<input type="checkbox" name="param-dry_run"[^>]* checked', markup)
    assert re.search(r'<textarea name="param-ids"[^>]*>\n\[\n  1,\n  2\n\]</textarea>', markup)
    assert re.search(r'<input type="number" name="param-ratio"[^>]*step="any"', markup)
    assert "required" not in field_block(markup, "param-count")
    # In the flow's order.
    order = [markup.index(f'name="param-{n}"') for n in ("name", "count", "color", "dry_run", "ids", "ratio")]
    assert order == sorted(order)
    for other in ('name="name"', 'name="tags"', 'name="job_variables"', 'name="scheduled_time"', 'value="later"'):
        assert other in markup


def test_the_custom_form_creates_the_run_with_typed_parameters_and_opens_it(client, flow):
    pools.create_pool(name="p", type="process")
    deployment = deploy(
        flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA, tags=["etl"], work_pool_name="p"
    )

    response = client.post(
        run_url(deployment),
        custom(
            **{
                "param-name": "Ada",
                "param-count": "5",
                "param-color": '"blue"',
                "param-ids": "[3, 4]",
                "param-ratio": "0.5",
                "param-options": '{"deep": {"x": 1}}',
                "name": "by-hand",
                "tags": "manual, urgent, manual",
                "job_variables": '{"env": {"MODE": "fast"}}',
            }
        ),
    )

    run = the_run(deployment)
    assert response.status_code == 302 and response["Location"] == f"/runs/flow-run/{run.pk}"
    # dry_run unticked is false; every other value has its JSON type.
    assert run.parameters == {
        "name": "Ada",
        "count": 5,
        "color": "blue",
        "dry_run": False,
        "ids": [3, 4],
        "ratio": 0.5,
        "options": {"deep": {"x": 1}},
    }
    assert run.name == "by-hand"
    assert run.tags == ["etl", "manual", "urgent"]
    assert run.job_variables == {"env": {"MODE": "fast"}}
    assert run.state_type == StateType.SCHEDULED
    # In the deployment's pool and queue, as the API's create_flow_run puts it.
    assert run.work_pool_name == "p" and run.work_queue_name == "default"
    assert run.flow_id == flow.pk


def test_blank_optional_fields_are_left_to_the_deployments_and_flows_defaults(client, flow):
    deployment = deploy(flow, parameters={"name": "world", "count": 7}, parameter_openapi_schema=SCHEMA)

    client.post(run_url(deployment), custom(**{"param-name": "Ada", "param-count": "", "param-dry_run": "on"}))

    assert the_run(deployment).parameters == {"name": "Ada", "count": 7, "dry_run": True}


def test_a_run_can_be_scheduled_for_later(client, flow):
    deployment = deploy(flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA)

    response = client.post(
        run_url(deployment),
        custom(**{"param-name": "x", "start": "later", "scheduled_time": "2031-01-02T03:04"}),
    )

    run = the_run(deployment)
    assert response.status_code == 302
    assert run.state_type == StateType.SCHEDULED
    assert run.expected_start_time == dt.datetime(2031, 1, 2, 3, 4, tzinfo=dt.UTC)
    assert run.next_scheduled_start_time == run.expected_start_time


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"param-name": ""}, "param-name", "This field is required."),
        ({"param-count": "many"}, "param-count", "Enter a whole number."),
        ({"param-count": "0"}, "param-count", "0 is less than the minimum of 1"),
        ({"param-color": '"green"'}, "param-color", "Select a valid choice."),
        ({"param-ids": "[1,"}, "param-ids", "ids is not valid JSON"),
        ({"param-ids": '["a"]'}, "param-ids", "is not valid under any of the given schemas"),
        ({"param-ratio": "inf"}, "param-ratio", "Enter a finite number."),
        ({"job_variables": "[1]"}, "job_variables", "The job variables must be a JSON object"),
        ({"job_variables": "{"}, "job_variables", "The job variables is not valid JSON"),
        ({"start": "later", "scheduled_time": "tomorrow"}, "scheduled_time", "Enter the date and time to start at"),
    ],
)
def test_a_wrong_value_is_shown_beside_its_field_and_creates_nothing(client, flow, fields, field, message):
    deployment = deploy(flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA)

    response = client.post(run_url(deployment), custom(**{"param-name": "Ada", **fields}))

    assert response.status_code == 400
    markup = response.content.decode()
    assert any(message in error for error in errors_of(markup, field)), errors_of(markup, field)
    assert "The run was not created: correct the fields marked below." in markup
    assert not FlowRun.objects.filter(deployment_id=deployment.pk).exists()


def test_the_form_keeps_what_was_typed_after_an_error(client, flow):
    deployment = deploy(flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA)

    response = client.post(run_url(deployment), custom(**{"param-name": "Ada", "param-count": "many", "tags": "a, b"}))

    markup = response.content.decode()
    assert 'name="param-name" value="Ada"' in markup and 'name="tags" value="a, b"' in markup
    assert 'name="param-count" value="many"' in markup


def test_a_schema_that_is_not_enforced_is_not_checked(client, flow):
    deployment = deploy(flow, parameter_openapi_schema=SCHEMA, enforce_parameter_schema=False)

    response = client.post(run_url(deployment), custom(**{"param-name": "Ada", "param-count": "0"}))

    assert response.status_code == 302
    assert the_run(deployment).parameters["count"] == 0


def test_without_a_schema_the_parameters_are_a_json_object(client, flow):
    deployment = deploy(flow, parameters={"n": 1}, parameter_openapi_schema=None, enforce_parameter_schema=False)

    markup = form_page(client, deployment)
    assert re.search(r'<textarea name="parameters"[^>]*>\n\{\n  &quot;n&quot;: 1\n\}</textarea>', markup)

    response = client.post(run_url(deployment), custom(parameters='{"m": 2}'))
    assert response.status_code == 302
    assert the_run(deployment).parameters == {"n": 1, "m": 2}


@pytest.mark.parametrize(
    "text, error",
    [("{not json", "The parameters is not valid JSON"), ('["a", "list"]', "The parameters must be a JSON object")],
)
def test_json_parameters_must_be_an_object(client, flow, text, error):
    deployment = deploy(flow, parameter_openapi_schema=None, enforce_parameter_schema=False)

    response = client.post(run_url(deployment), custom(parameters=text))

    assert response.status_code == 400
    assert any(error in e for e in errors_of(response.content.decode(), "parameters"))
    assert not FlowRun.objects.filter(deployment_id=deployment.pk).exists()


def test_a_flow_without_parameters_says_so(client, flow):
    deployment = deploy(flow, parameter_openapi_schema={"type": "object", "properties": {}})

    markup = form_page(client, deployment)

    assert "This flow takes no parameters." in markup
    assert client.post(run_url(deployment), custom()).status_code == 302


def test_a_refusal_of_the_domain_shows_above_the_form(client, flow):
    deployment = deploy(flow, enforce_parameter_schema=True, parameter_openapi_schema=None)

    response = client.post(run_url(deployment), custom(parameters="{}"))

    assert response.status_code == 400
    assert "parameter schema enforcement is on and the deployment has no schema" in response.content.decode()


def test_an_overlong_run_name_is_refused_by_the_field(client, flow):
    deployment = deploy(flow, parameter_openapi_schema=None, enforce_parameter_schema=False)

    response = client.post(run_url(deployment), custom(name="x" * 300))

    assert response.status_code == 400
    assert any("at most 255 characters" in e for e in errors_of(response.content.decode(), "name"))


def test_the_form_needs_a_csrf_token(flow):
    deployment = deploy(flow, parameter_openapi_schema=None, enforce_parameter_schema=False)
    browser = Client(enforce_csrf_checks=True)

    assert browser.post(run_url(deployment), custom()).status_code == 403
    browser.get(run_url(deployment))
    token = browser.cookies["csrftoken"].value
    assert browser.post(run_url(deployment), {**custom(), "csrfmiddlewaretoken": token}).status_code == 302


def test_the_form_page_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    pools.create_pool(name="p", type="process")
    deployment = deploy(flow, parameter_openapi_schema=SCHEMA, work_pool_name="p")

    with django_assert_max_num_queries(2):
        form_page(client, deployment)


def test_bad_input_never_fails_the_page(client, flow):
    deployment = deploy(flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA)

    for fields in (
        {"param-count": "9" * 400},
        {"param-ratio": "1e999"},
        {"param-color": "not json"},
        {"start": "sometime"},
        {"scheduled_time": "\x00"},
        {"tags": ",,,"},
        {"param-options": "\x00"},
    ):
        response = client.post(run_url(deployment), custom(**{"param-name": "Ada", **fields}))
        assert response.status_code in (302, 400), (fields, response.status_code)
