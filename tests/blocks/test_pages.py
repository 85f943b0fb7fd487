"""The dashboard's block pages: saved blocks, the catalog, and the forms generated from a
block type's schema. A secret saved through them never appears in any page."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from blocks import documents
from blocks.models import BlockDocument, BlockDocumentReference, BlockSchema, BlockType
from blocks.registry import checksum
from tests.pages import page

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/very-secret-token"

# A schema as the Prefect client registers it for a block with a nested block
# (class Store(Block): creds: Creds; backup: Creds | None; ...).
CREDS_FIELDS = {
    "title": "Creds",
    "type": "object",
    "block_type_slug": "creds",
    "block_schema_references": {},
    "properties": {
        "user": {"title": "User", "type": "string", "position": 0},
        "password": {"title": "Password", "type": "string", "format": "password", "writeOnly": True, "position": 1},
    },
    "required": ["user", "password"],
    "secret_fields": ["password"],
}
STORE_FIELDS = {
    "title": "Store",
    "type": "object",
    "block_type_slug": "store",
    "block_schema_references": {
        "creds": {"block_schema_checksum": checksum(CREDS_FIELDS), "block_type_slug": "creds"},
        "backup": {"block_schema_checksum": checksum(CREDS_FIELDS), "block_type_slug": "creds"},
    },
    "properties": {
        "creds": {"$ref": "#/definitions/Creds", "position": 0},
        "backup": {"anyOf": [{"$ref": "#/definitions/Creds"}, {"type": "null"}], "default": None, "position": 1},
        "retries": {"title": "Retries", "type": "integer", "default": 3, "position": 2},
        "ratio": {"title": "Ratio", "type": "number", "default": 0.5, "position": 3},
        "mode": {"$ref": "#/definitions/Mode", "default": "fast", "position": 4},
    },
    "required": ["creds"],
    "secret_fields": ["creds.password", "backup.password"],
    "definitions": {
        "Creds": CREDS_FIELDS,
        "Mode": {"title": "Mode", "enum": ["fast", "safe"], "type": "string"},
    },
}


def post_form(client: Client, url: str, data: dict):
    """Submit a form the way a browser does: GET the page, then POST with its CSRF token."""
    html = page(client, url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def block_type(slug: str) -> BlockType:
    return BlockType.objects.get(slug=slug)


def latest_schema(slug: str) -> BlockSchema:
    return BlockSchema.objects.filter(block_type__slug=slug).order_by("-created").first()


def save(slug: str, name: str, data: dict, **extra) -> BlockDocument:
    """A document saved the way the API saves one."""
    schema = latest_schema(slug)
    return documents.create(
        {"name": name, "data": data, "block_type_id": schema.block_type_id, "block_schema_id": schema.pk, **extra}
    )


def stored(document: BlockDocument) -> dict:
    """The document's data as code loading it gets it: secrets in the clear."""
    return documents.document_json(BlockDocument.objects.get(pk=document.pk), include_secrets=True)["data"]


def names_listed(html: str) -> list[str]:
    return re.findall(r'class="run-link" href="/blocks/block/[^"]+/">([^<]+)</a>', html)


def field_errors(html: str, field: str) -> list[str]:
    start = html.index(f'id="field-{field}"')
    block = html[start : html.index("</div>", start)]
    return re.findall(r'<p class="field-error">([^<]+)</p>', block)


def register_store_types() -> tuple[BlockSchema, BlockSchema]:
    """The Creds and Store block types, as a Python package's blocks register them."""
    creds_type = BlockType.objects.create(name="Creds", slug="creds")
    store_type = BlockType.objects.create(name="Store", slug="store", code_example='Store.load("BLOCK_NAME")')
    creds = BlockSchema.objects.create(checksum=checksum(CREDS_FIELDS), fields=CREDS_FIELDS, block_type=creds_type)
    store = BlockSchema.objects.create(checksum=checksum(STORE_FIELDS), fields=STORE_FIELDS, block_type=store_type)
    return creds, store


# The list of saved blocks


def test_the_empty_list_points_to_the_catalog_and_to_saving_from_python(client):
    html = page(client, "/blocks/")

    assert "No blocks yet" in html
    assert 'href="/blocks/catalog/"' in html
    assert 'Secret(value="s3cr3t").save("my-secret")' in html.replace("&quot;", '"')
    assert re.search(r'href="/blocks/"\s+aria-current="page"', html)


def test_the_list_shows_named_blocks_with_their_type_and_capabilities(client):
    save("slack-webhook", "team-alerts", {"url": SLACK_URL})
    save("secret", "db-password", {"value": "hunter2"})
    save("secret", "", {"value": "nested"}, is_anonymous=True)

    html = page(client, "/blocks/")

    assert names_listed(html) == ["db-password", "team-alerts"]
    assert "Slack Webhook" in html and '<code class="muted">slack-webhook</code>' in html
    assert '<span class="tag">notify</span>' in html
    assert "anonymous-" not in html
    assert SLACK_URL not in html and "hunter2" not in html


def test_the_list_searches_by_name_and_filters_by_type(client):
    save("secret", "db-password", {"value": "a"})
    save("secret", "api-token", {"value": "b"})
    save("slack-webhook", "db-alerts", {"url": SLACK_URL})

    assert names_listed(page(client, "/blocks/?q=DB")) == ["db-alerts", "db-password"]
    assert names_listed(page(client, "/blocks/?type=secret")) == ["api-token", "db-password"]
    assert names_listed(page(client, "/blocks/?q=db&type=secret")) == ["db-password"]
    assert "No blocks match" in page(client, "/blocks/?q=nothing")


def test_the_list_pages_by_name(client, monkeypatch):
    from blocks import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for name in ["e", "d", "c", "b", "a"]:
        save("secret", f"secret-{name}", {"value": name})

    first = page(client, "/blocks/")
    assert names_listed(first) == ["secret-a", "secret-b"]
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = page(client, f"/blocks/{following}")
    assert names_listed(second) == ["secret-c", "secret-d"]
    previous = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert names_listed(page(client, f"/blocks/{previous}")) == ["secret-a", "secret-b"]


def test_the_list_uses_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    for index in range(30):
        save("secret", f"secret-{index}", {"value": str(index)})

    with django_assert_max_num_queries(3):
        page(client, "/blocks/")
    with django_assert_max_num_queries(4):
        page(client, "/blocks/?type=secret&q=secret")


# The catalog


def test_the_catalog_lists_the_system_block_types_with_capabilities_and_create_links(client):
    html = page(client, "/blocks/catalog/")

    for slug in ["secret", "webhook", "slack-webhook", "discord-webhook", "twilio-sms", "custom-webhook"]:
        assert f'href="/blocks/catalog/{slug}/create/"' in html
    row = html[html.index('id="type-slack-webhook"') :]
    row = row[: row.index("</tr>")]
    assert "Posts notifications to a Slack channel" in row
    assert '<span class="tag">notify</span>' in row


def test_the_catalog_searches_by_name(client):
    html = page(client, "/blocks/catalog/?q=slack")

    assert 'id="type-slack-webhook"' in html
    assert 'id="type-secret"' not in html
    assert "No block type matches" in page(client, "/blocks/catalog/?q=nothing-like-it")


def test_the_catalog_shows_the_capabilities_of_the_latest_schema(client):
    block_type = BlockType.objects.create(name="Bucket", slug="bucket")
    BlockSchema.objects.create(checksum="sha256:old", fields={}, block_type=block_type, capabilities=["read-path"])
    BlockSchema.objects.create(checksum="sha256:new", fields={}, block_type=block_type, capabilities=["write-path"])

    row = page(client, "/blocks/catalog/?q=bucket")
    assert '<span class="tag">write-path</span>' in row
    assert "read-path" not in row


def test_the_catalog_uses_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        page(client, "/blocks/catalog/")


def test_a_block_type_page_shows_its_fields_code_and_saved_blocks(client):
    save("slack-webhook", "team-alerts", {"url": SLACK_URL})

    html = page(client, "/blocks/catalog/slack-webhook/")

    assert "Webhook URL" in html and "The Slack incoming webhook URL." in html
    assert "SlackWebhook.load(&quot;BLOCK_NAME&quot;)" in html
    assert "```" not in html
    assert "team-alerts" in html
    assert SLACK_URL not in html
    assert 'href="/blocks/catalog/slack-webhook/create/"' in html


def test_an_unknown_block_type_is_a_404(client):
    page(client, "/blocks/catalog/no-such-type/", status=404)
    page(client, "/blocks/catalog/no-such-type/create/", status=404)


# Creating a block from the generated form


def test_the_create_form_is_generated_from_the_schema(client):
    html = page(client, "/blocks/catalog/slack-webhook/create/")

    assert re.search(r'<input type="text" name="name"[^>]*required', html)
    assert re.search(r'<input type="password" name="data-url"[^>]*required', html)
    assert re.search(r'<select name="data-notify_type"[^>]*>', html)
    assert re.search(r'<option value="&quot;info&quot;" selected>info</option>', html)
    assert re.search(r'<input type="checkbox" name="data-allow_private_urls"[^>]*checked', html)
    assert "The Slack incoming webhook URL." in html


def test_the_form_has_the_right_input_for_each_kind_of_field(client):
    html = page(client, "/blocks/catalog/mattermost-webhook/create/")

    assert re.search(r'<input type="number" name="data-port" value="8065"', html)  # integer with a default
    assert re.search(r'<textarea name="data-channels"', html)  # a list of strings, one per line
    assert re.search(r'<input type="text" name="data-hostname"[^>]*required', html)
    assert not re.search(r'<input type="text" name="data-botname"[^>]*required', html)  # anyOf [..., null]
    custom = page(client, "/blocks/catalog/custom-webhook/create/")
    assert re.search(r'<textarea name="data-json_data"[^>]*class="code-input"', custom)  # an object: JSON
    assert re.search(r'<input type="number" name="data-timeout" value="10"[^>]*step="any"', custom)


def test_creating_a_slack_webhook_stores_the_secret_and_never_shows_it(client):
    response = post_form(
        client,
        "/blocks/catalog/slack-webhook/create/",
        {"name": "team-alerts", "data-url": SLACK_URL, "data-notify_type": '"warning"', "data-allow_private_urls": ""},
    )

    document = BlockDocument.objects.get(name="team-alerts")
    assert response.status_code == 302
    assert response["Location"] == f"/blocks/block/{document.pk}/"
    assert document.block_type.slug == "slack-webhook"
    assert document.block_schema == latest_schema("slack-webhook")
    assert stored(document) == {"url": SLACK_URL, "notify_type": "warning", "allow_private_urls": False}
    assert SLACK_URL not in document.data  # encrypted at rest

    detail = page(client, f"/blocks/block/{document.pk}/")
    assert "Created the Slack Webhook block team-alerts." in detail
    assert "********" in detail
    assert "warning" in detail
    pages = [
        detail,
        page(client, f"/blocks/block/{document.pk}/edit/"),
        page(client, f"/blocks/block/{document.pk}/delete/"),
        page(client, "/blocks/"),
        page(client, "/blocks/catalog/slack-webhook/"),
    ]
    for html in pages:
        assert SLACK_URL not in html
        assert "very-secret-token" not in html


def test_the_document_page_shows_type_schema_values_and_code(client):
    document = save("slack-webhook", "team-alerts", {"url": SLACK_URL, "notify_type": "info"})
    schema = document.block_schema

    html = page(client, f"/blocks/block/{document.pk}/")

    assert "Slack Webhook" in html
    assert schema.checksum in html and schema.version in html
    value = html[html.index('id="value-notify_type"') :]
    assert "info" in value[: value.index("</tr>")]
    assert "SlackWebhook.load(&quot;team-alerts&quot;)" in html
    assert f'action="/blocks/block/{document.pk}/delete/"' not in html  # the confirmation page deletes
    assert f'href="/blocks/block/{document.pk}/delete/"' in html
    assert f'href="/blocks/block/{document.pk}/edit/"' in html
    assert SLACK_URL not in html


def test_a_missing_required_field_is_shown_next_to_it(client):
    response = post_form(client, "/blocks/catalog/slack-webhook/create/", {"name": "team-alerts", "data-url": ""})

    assert response.status_code == 400
    html = response.content.decode()
    assert field_errors(html, "data-url") == ["This field is required."]
    assert "The block was not saved" in html
    assert not BlockDocument.objects.filter(name="team-alerts").exists()


def test_a_typed_secret_is_not_sent_back_when_the_form_has_an_error(client):
    response = post_form(client, "/blocks/catalog/slack-webhook/create/", {"name": "Bad Name!", "data-url": SLACK_URL})

    html = response.content.decode()
    assert response.status_code == 400
    assert field_errors(html, "name") == ["Use lowercase letters, numbers and dashes only, like “my-slack-webhook”."]
    assert SLACK_URL not in html
    assert "type them once more" in html


def test_secrets_typed_inside_json_are_masked_when_the_form_has_an_error(client):
    url = "/blocks/catalog/custom-webhook/create/"
    response = post_form(
        client, url, {"name": "hook", "data-name": "x", "data-url": "", "data-secrets": '{"token": "zzz-typed"}'}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "zzz-typed" not in html
    assert "&quot;token&quot;: &quot;********&quot;" in html

    # Sent back as shown, the mask stands for nothing saved: it is refused, not stored.
    response = post_form(
        client,
        url,
        {"name": "hook", "data-name": "x", "data-url": "https://x", "data-secrets": '{"token": "********"}'},
    )
    assert field_errors(response.content.decode(), "data-secrets") == [
        "Type the secret values again: ******** stands for a saved one."
    ]
    assert not BlockDocument.objects.filter(name="hook").exists()


def test_a_name_already_taken_by_a_block_of_the_type_is_refused(client):
    save("slack-webhook", "team-alerts", {"url": SLACK_URL})

    response = post_form(
        client, "/blocks/catalog/slack-webhook/create/", {"name": "team-alerts", "data-url": "https://other"}
    )

    assert response.status_code == 400
    assert field_errors(response.content.decode(), "name") == [
        "A Slack Webhook block named “team-alerts” already exists."
    ]
    assert stored(BlockDocument.objects.get(name="team-alerts"))["url"] == SLACK_URL


def test_values_are_checked_against_the_schema(client):
    url = "/blocks/catalog/custom-webhook/create/"
    response = post_form(
        client, url, {"name": "hook", "data-url": "https://x", "data-name": "x", "data-json_data": "[1, 2]"}
    )
    assert response.status_code == 400
    errors = field_errors(response.content.decode(), "data-json_data")
    assert errors and "is not valid under any of the given schemas" in errors[0].replace("&#x27;", "'")

    response = post_form(client, url, {"name": "hook", "data-url": "https://x", "data-name": "x", "data-params": "{"})
    assert field_errors(response.content.decode(), "data-params")[0].startswith("This is not valid JSON")
    assert not BlockDocument.objects.filter(name="hook").exists()


def test_lists_optional_fields_and_json_become_the_right_values(client):
    post_form(
        client,
        "/blocks/catalog/sendgrid-email/create/",
        {
            "name": "mail",
            "data-api_key": "SG.key",
            "data-sender_email": "bot@example.com",
            "data-to_emails": "a@example.com\n\n  b@example.com  \n",
            "data-notify_type": '"info"',
        },
    )
    assert stored(BlockDocument.objects.get(name="mail")) == {
        "api_key": "SG.key",
        "sender_email": "bot@example.com",
        "to_emails": ["a@example.com", "b@example.com"],
        "notify_type": "info",
    }

    post_form(
        client,
        "/blocks/catalog/custom-webhook/create/",
        {
            "name": "hook",
            "data-name": "ops",
            "data-url": "https://ops.example.com/{{subject}}",
            "data-method": '"PUT"',
            "data-json_data": '{"text": "{{body}}"}',
            "data-timeout": "2.5",
            "data-secrets": '{"token": "abc"}',
        },
    )
    data = stored(BlockDocument.objects.get(name="hook"))
    assert data["method"] == "PUT"
    assert data["json_data"] == {"text": "{{body}}"}
    assert data["timeout"] == 2.5
    assert data["secrets"] == {"token": "abc"}
    assert data["params"] is None  # an empty optional object is null
    assert "form_data" in data and data["form_data"] is None


def test_a_block_type_without_fields_needs_only_a_name(client):
    block_type = BlockType.objects.create(name="Marker", slug="marker")
    fields = {"title": "Marker", "type": "object", "properties": {}, "block_type_slug": "marker"}
    BlockSchema.objects.create(checksum=checksum(fields), fields=fields, block_type=block_type)

    response = post_form(client, "/blocks/catalog/marker/create/", {"name": "here"})

    assert response.status_code == 302
    assert stored(BlockDocument.objects.get(name="here")) == {}


def test_a_nested_block_is_picked_from_saved_blocks_of_its_type(client):
    register_store_types()
    creds = save("creds", "main-creds", {"user": "ann", "password": "creds-pass-123"})

    html = page(client, "/blocks/catalog/store/create/")
    assert re.search(r'<select name="data-creds"[^>]*required', html)
    assert f'<option value="{creds.pk}">main-creds</option>' in html
    assert re.search(r'<select name="data-mode"', html)  # an enum behind a $ref

    response = post_form(
        client,
        "/blocks/catalog/store/create/",
        {
            "name": "store",
            "data-creds": str(creds.pk),
            "data-retries": "5",
            "data-ratio": "0.25",
            "data-mode": '"safe"',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    store = BlockDocument.objects.get(name="store")
    reference = BlockDocumentReference.objects.get(parent_block_document=store)
    assert (reference.name, reference.reference_block_document_id) == ("creds", creds.pk)
    data = stored(store)
    assert data["creds"] == {"user": "ann", "password": "creds-pass-123"}
    assert data["retries"] == 5 and data["ratio"] == 0.25 and data["mode"] == "safe" and data["backup"] is None

    detail = page(client, f"/blocks/block/{store.pk}/")
    assert f'href="/blocks/block/{creds.pk}/">main-creds</a>' in detail
    assert "creds-pass-123" not in detail
    creds_page = page(client, f"/blocks/block/{creds.pk}/")
    assert "Used by" in creds_page and f'href="/blocks/block/{store.pk}/">store</a>' in creds_page
    assert "creds-pass-123" not in creds_page


# Editing


def test_the_edit_form_shows_the_mask_and_leaving_it_keeps_the_secret(client):
    document = save("slack-webhook", "team-alerts", {"url": SLACK_URL, "notify_type": "info"})
    url = f"/blocks/block/{document.pk}/edit/"

    html = page(client, url)
    assert re.search(r'<input type="password" name="data-url" value="\*{8}"', html)
    assert SLACK_URL not in html
    assert 'name="name"' not in html  # a block keeps its name

    response = post_form(client, url, {"data-url": "********", "data-notify_type": '"failure"'})

    assert response.status_code == 302
    assert stored(document) == {"url": SLACK_URL, "notify_type": "failure", "allow_private_urls": False}
    assert "Saved the block team-alerts." in page(client, f"/blocks/block/{document.pk}/")


def test_an_edit_with_a_new_secret_replaces_it(client):
    document = save("slack-webhook", "team-alerts", {"url": SLACK_URL})

    post_form(
        client,
        f"/blocks/block/{document.pk}/edit/",
        {"data-url": "https://hooks.slack.com/new", "data-notify_type": '"info"', "data-allow_private_urls": "on"},
    )

    assert stored(document)["url"] == "https://hooks.slack.com/new"


def test_an_edit_keeps_masked_secrets_inside_json_and_values_the_schema_does_not_name(client):
    document = save(
        "custom-webhook",
        "hook",
        {"name": "ops", "url": "https://x", "secrets": {"token": "tok-secret-1"}, "extra": 1},
    )
    url = f"/blocks/block/{document.pk}/edit/"
    html = page(client, url)
    assert "tok-secret-1" not in html
    assert "&quot;token&quot;: &quot;********&quot;" in html

    secrets_text = re.search(r'<textarea name="data-secrets"[^>]*>\s*([^<]*)</textarea>', html).group(1)
    secrets_text = secrets_text.replace("&quot;", '"')
    response = post_form(
        client,
        url,
        {"data-name": "ops", "data-url": "https://y", "data-method": '"POST"', "data-secrets": secrets_text},
    )

    assert response.status_code == 302
    data = stored(document)
    assert data["secrets"] == {"token": "tok-secret-1"}
    assert data["url"] == "https://y"
    assert data["extra"] == 1


def test_an_edit_can_change_a_nested_block(client):
    register_store_types()
    first = save("creds", "first", {"user": "a", "password": "p1"})
    second = save("creds", "second", {"user": "b", "password": "p2"})
    store = save("store", "store", {"creds": {"$ref": {"block_document_id": str(first.pk)}}})
    url = f"/blocks/block/{store.pk}/edit/"

    html = page(client, url)
    assert f'<option value="{first.pk}" selected>first</option>' in html
    assert f'value="{store.pk}"' not in html  # a block cannot hold itself

    post_form(
        client, url, {"data-creds": str(second.pk), "data-retries": "3", "data-ratio": "0.5", "data-mode": '"fast"'}
    )

    reference = BlockDocumentReference.objects.get(parent_block_document=store, name="creds")
    assert reference.reference_block_document_id == second.pk


# Deleting, and what is not there


def test_delete_asks_first_then_deletes(client):
    document = save("secret", "db-password", {"value": "hunter2"})

    html = page(client, f"/blocks/block/{document.pk}/delete/")
    assert "Delete db-password?" in html
    assert 'Secret.load("db-password")' in html
    assert BlockDocument.objects.filter(pk=document.pk).exists()

    response = post_form(client, f"/blocks/block/{document.pk}/delete/", {})

    assert response.status_code == 302 and response["Location"] == "/blocks/"
    assert not BlockDocument.objects.filter(pk=document.pk).exists()
    assert "Deleted the Secret block db-password." in page(client, "/blocks/")


def test_the_delete_page_warns_about_blocks_that_use_this_one(client):
    register_store_types()
    creds = save("creds", "main-creds", {"user": "a", "password": "p"})
    save("store", "store", {"creds": {"$ref": {"block_document_id": str(creds.pk)}}})

    html = page(client, f"/blocks/block/{creds.pk}/delete/")

    assert "Other blocks use this one" in html and ">store</a>" in html


def test_unknown_block_ids_are_a_404(client):
    missing = uuid.uuid4()
    for path in ["", "edit/", "delete/"]:
        page(client, f"/blocks/block/{missing}/{path}", status=404)
    page(client, "/blocks/block/not-a-uuid/", status=404)
    assert client.post(f"/blocks/block/{missing}/delete/").status_code == 404


def test_the_forms_need_a_csrf_token(browser):
    document = save("secret", "db-password", {"value": "hunter2"})

    assert browser.post(f"/blocks/block/{document.pk}/delete/").status_code == 403
    assert browser.post("/blocks/catalog/secret/create/", {"name": "x", "data-value": "y"}).status_code == 403
    assert BlockDocument.objects.filter(pk=document.pk).exists()
    assert post_form(browser, f"/blocks/block/{document.pk}/delete/", {}).status_code == 302


def test_a_block_saved_by_the_prefect_client_shows_and_edits(client):
    """Prefect's Secret schema: a password, any string, or JSON (an anyOf without null)."""
    fields = {
        "title": "Secret",
        "type": "object",
        "block_type_slug": "secret",
        "block_schema_references": {},
        "properties": {
            "value": {
                "anyOf": [
                    {"format": "password", "type": "string", "writeOnly": True},
                    {"title": "string", "type": "string"},
                    {"$ref": "#/definitions/JsonValue", "title": "JSON"},
                ],
                "format": "password",
                "title": "Value",
                "writeOnly": True,
                "position": 0,
            }
        },
        "required": ["value"],
        "secret_fields": ["value", "value"],
        "definitions": {"JsonValue": {}},
    }
    schema = BlockSchema.objects.create(
        checksum=checksum(fields), fields=fields, block_type=block_type("secret"), version="3.8.8-client"
    )
    document = documents.create(
        {
            "name": "from-python",
            "data": {"value": {"username": "ann", "password": "json-secret-9"}},
            "block_type_id": schema.block_type_id,
            "block_schema_id": schema.pk,
        }
    )

    detail = page(client, f"/blocks/block/{document.pk}/")
    edit = page(client, f"/blocks/block/{document.pk}/edit/")
    assert "json-secret-9" not in detail and "json-secret-9" not in edit
    assert re.search(r'<input type="password" name="data-value" value="\*{8}"', edit)

    assert post_form(client, f"/blocks/block/{document.pk}/edit/", {"data-value": "********"}).status_code == 302
    assert stored(document)["value"] == {"username": "ann", "password": "json-secret-9"}


def test_the_document_page_uses_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    register_store_types()
    creds = save("creds", "main-creds", {"user": "a", "password": "p"})
    store = save("store", "store", {"creds": {"$ref": {"block_document_id": str(creds.pk)}}})

    with django_assert_max_num_queries(4):
        page(client, f"/blocks/block/{store.pk}/")
    with django_assert_max_num_queries(6):
        page(client, f"/blocks/block/{store.pk}/edit/")
