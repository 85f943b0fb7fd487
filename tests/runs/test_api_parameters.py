"""What the orchestration rules are told about the request that proposed a state."""

from django.test import RequestFactory

from runs.api.flow_runs import api_parameters


def test_api_parameters_carry_the_clients_api_version_header():
    request = RequestFactory().post("/api/flow_runs/", headers={"X-Prefect-Api-Version": "0.8.4"})
    assert api_parameters(request) == {"api-version": "0.8.4"}


def test_api_parameters_say_none_when_the_client_sends_no_version():
    assert api_parameters(RequestFactory().post("/api/flow_runs/")) == {"api-version": None}
