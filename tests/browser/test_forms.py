"""Creating things through the dashboard's forms in headless Chromium, as a person does: type,
submit, and see the result, and check the server kept it."""

from __future__ import annotations

import re
import secrets

import pytest

from .helpers import assert_fits_horizontally, assert_no_console_errors, expect, screenshot, visit

pytestmark = pytest.mark.browser


def test_a_variable_is_created_through_its_form(page, dashboard_api):
    name = f"batch_size_{secrets.token_hex(3)}"
    visit(page, "/variables/")

    page.get_by_role("link", name="New variable").click()
    expect(page.locator("h1")).to_have_text("New variable")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Value (JSON)").fill('{"rows": 500, "retry": true}')
    page.get_by_label("Tags").fill("etl, nightly")
    screenshot(page, "variable-form")
    page.get_by_role("button", name="Create").click()

    expect(page).to_have_url(re.compile(r"/variables/$"))
    expect(page.locator(".messages")).to_contain_text(f"Created the variable {name}.")
    row = page.locator(f"#variable-{name}")
    expect(row).to_contain_text('"rows": 500')
    expect(row).to_contain_text("nightly")
    screenshot(page, "variable-created")
    assert_no_console_errors(page)
    assert dashboard_api.get(f"variables/name/{name}")["value"] == {"rows": 500, "retry": True}
    assert dashboard_api.get(f"variables/name/{name}")["tags"] == ["etl", "nightly"]


def test_a_variable_form_says_what_is_wrong_with_its_value(page):
    visit(page, "/variables/new/")

    page.get_by_label("Name").fill(f"bad_{secrets.token_hex(3)}")
    page.get_by_label("Value (JSON)").fill("{not json")
    page.get_by_role("button", name="Create").click()

    expect(page.locator(".field-error")).to_contain_text("This is not valid JSON")
    expect(page.get_by_label("Value (JSON)")).to_have_value("{not json")
    assert_no_console_errors(page)


def test_a_secret_block_is_created_from_the_catalog_and_shown_masked(page, dashboard_api):
    name = f"warehouse-password-{secrets.token_hex(3)}"
    secret = f"s3cr3t-{secrets.token_hex(8)}"
    visit(page, "/blocks/")

    page.get_by_role("link", name="Add a block").click()
    expect(page.locator("h1")).to_contain_text("Block")
    page.locator("main").get_by_role("link", name="Secret", exact=True).first.click()
    expect(page.locator("h1")).to_contain_text("Secret")
    page.locator("main").get_by_role("link", name="Create", exact=True).first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Value").fill(secret)
    screenshot(page, "secret-block-form")
    page.get_by_role("button", name="Create").click()

    expect(page.locator("h1")).to_contain_text(name)
    main = page.locator("main")
    expect(main).to_contain_text("********")
    assert secret not in page.content()
    screenshot(page, "secret-block-created")
    assert_no_console_errors(page)

    visit(page, "/blocks/")
    expect(page.locator("main")).to_contain_text(name)
    document = dashboard_api.get(f"block_types/slug/secret/block_documents/name/{name}", include_secrets="true")
    assert document["data"] == {"value": secret}


def test_the_forms_fit_a_narrow_window(narrow_page):
    for path in ("/variables/new/", "/blocks/catalog/secret/create/", "/concurrency-limits/new/"):
        visit(narrow_page, path)
        assert_fits_horizontally(narrow_page)
        assert_no_console_errors(narrow_page)
    screenshot(narrow_page, "concurrency-limit-form-narrow")
