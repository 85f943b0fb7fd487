"""Notification end-to-end helpers, run with the real Prefect client.

notify.py blocks '{"<slug>": {"name": ..., "data": {...}}, ...}'
    saves each notification block with Prefect's own block classes (as a user does);
    prints RESULT {"<slug>": "<block document id>", ...}
notify.py runs '[{"tags": [...], "fail": true}, ...]'
    runs the daily-etl flow once per entry, with those tags, failing or not;
    prints RESULT [{"flow_run_id": ..., "name": ..., "state": ...}, ...]
"""

import json
import sys

from prefect import flow, tags
from prefect.blocks.notifications import (
    CustomWebhookNotificationBlock,
    DiscordWebhook,
    MattermostWebhook,
    MicrosoftTeamsWebhook,
    OpsgenieWebhook,
    PagerDutyWebHook,
    SendgridEmail,
    SlackWebhook,
    TwilioSMS,
)

BLOCKS = {
    "slack-webhook": SlackWebhook,
    "ms-teams-webhook": MicrosoftTeamsWebhook,
    "discord-webhook": DiscordWebhook,
    "mattermost-webhook": MattermostWebhook,
    "opsgenie-webhook": OpsgenieWebhook,
    "pager-duty-webhook": PagerDutyWebHook,
    "sendgrid-email": SendgridEmail,
    "twilio-sms": TwilioSMS,
    "custom-webhook": CustomWebhookNotificationBlock,
}


@flow(name="daily-etl")
def daily_etl(fail: bool = True) -> str:
    if fail:
        raise RuntimeError("the warehouse is unreachable")
    return "loaded"


def save_blocks(spec: dict) -> dict:
    saved = {}
    for slug, block in spec.items():
        saved[slug] = str(BLOCKS[slug](**block["data"]).save(block["name"], overwrite=True))
    return saved


def run_flows(spec: list) -> list:
    results = []
    for entry in spec:
        with tags(*entry["tags"]):
            state = daily_etl(fail=entry["fail"], return_state=True)
        results.append(
            {"flow_run_id": str(state.state_details.flow_run_id), "state": state.name, "tags": entry["tags"]}
        )
    return results


if __name__ == "__main__":
    command, spec = sys.argv[1], json.loads(sys.argv[2])
    result = save_blocks(spec) if command == "blocks" else run_flows(spec)
    print("RESULT " + json.dumps(result))
