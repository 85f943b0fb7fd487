"""Schedules: which times are due, on the schedule's own wall clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from deployments.schedules import ScheduleError, dates, describe, kind_name, normalize

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def due(raw: dict, start: str, end: str | None = None, n: int | None = None) -> list[dt.datetime]:
    return list(dates(normalize(raw), at(start), at(end) if end else None, n=n))


def local(values: list[dt.datetime], zone: ZoneInfo = NEW_YORK) -> list[str]:
    return [v.astimezone(zone).strftime("%Y-%m-%d %H:%M") for v in values]


class TestNormalize:
    def test_it_stores_an_interval_in_seconds_with_its_anchor_in_utc(self):
        raw = {"interval": 3600, "anchor_date": "2026-01-01T09:00:00+01:00", "timezone": "Europe/Paris"}
        assert normalize(raw) == {"interval": 3600.0, "anchor_date": "2026-01-01T08:00:00Z", "timezone": "Europe/Paris"}

    def test_it_fills_in_what_a_schedule_leaves_out(self):
        assert normalize({"interval": 60})["timezone"] == "UTC"
        assert normalize({"cron": "0 9 * * *"}) == {"cron": "0 9 * * *", "timezone": "UTC", "day_or": True}
        assert normalize({"rrule": "FREQ=DAILY", "timezone": None}) == {"rrule": "FREQ=DAILY", "timezone": "UTC"}

    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            ({"interval": -1}, "interval"),
            ({"interval": 0}, "interval"),
            ({"interval": 1e-9}, "interval"),
            ({"interval": 1e300}, "interval"),
            ({"interval": True}, "interval"),
            ({"interval": 60, "anchor_date": "someday"}, "anchor_date"),
            ({"interval": 60, "timezone": "Nowhere/Town"}, "timezone"),
            ({"cron": "61 * * * *"}, "cron"),
            ({"cron": "R * * * *"}, "cron"),
            ({"cron": "0 9 * * *", "day_or": "yes"}, "day_or"),
            ({"cron": "0 9 * * *", "timezone": 5}, "timezone"),
            ({"rrule": "FREQ=FORTNIGHTLY"}, "rrule"),
            ({"rrule": "FREQ=DAILY;" + "BYHOUR=1;" * 800}, "rrule"),
            ({"rrule": "FREQ=DAILY", "timezone": "Mars/Olympus"}, "timezone"),
            ({"interval": 60, "cron": "* * * * *"}, "schedule"),
            ({"timezone": "UTC"}, "schedule"),
            ({"cron": "* * * * *", "anchor_date": "2026-01-01T00:00:00Z"}, "anchor_date"),
            ("0 9 * * *", "schedule"),
        ],
    )
    def test_it_refuses_an_invalid_schedule_naming_the_key(self, raw, key):
        with pytest.raises(ScheduleError) as refused:
            normalize(raw)
        assert refused.value.key == key

    def test_it_names_and_describes_each_kind(self):
        assert kind_name({"interval": 60.0}) == "IntervalSchedule"
        assert kind_name({"cron": "* * * * *"}) == "CronSchedule"
        assert kind_name({"rrule": "FREQ=DAILY"}) == "RRuleSchedule"
        assert describe({"interval": 7200.0}) == "every 2 hours"
        assert describe({"interval": 90.0}) == "every 90 seconds"


class TestIntervalSchedules:
    def test_runs_fall_on_the_anchor_plus_whole_intervals(self):
        raw = {"interval": 3600, "anchor_date": "2026-01-01T00:30:00Z"}
        assert due(raw, "2026-03-10T10:10:00+00:00", n=3) == [
            at("2026-03-10T10:30:00+00:00"),
            at("2026-03-10T11:30:00+00:00"),
            at("2026-03-10T12:30:00+00:00"),
        ]

    def test_a_slot_at_the_start_is_due(self):
        raw = {"interval": 600, "anchor_date": "2026-01-01T00:00:00Z"}
        assert due(raw, "2026-02-01T12:00:00+00:00", n=1) == [at("2026-02-01T12:00:00+00:00")]

    def test_a_start_before_the_anchor_begins_at_the_anchor(self):
        raw = {"interval": 86400, "anchor_date": "2026-06-01T06:00:00Z"}
        assert due(raw, "2026-01-01T00:00:00+00:00", n=2) == [
            at("2026-06-01T06:00:00+00:00"),
            at("2026-06-02T06:00:00+00:00"),
        ]

    @pytest.mark.parametrize(
        ("anchor", "start", "end"),
        [
            ("2026-03-05T09:00:00-05:00", "2026-03-05T00:00:00-05:00", "2026-03-12T23:00:00-04:00"),
            ("2026-10-28T09:00:00-04:00", "2026-10-28T00:00:00-04:00", "2026-11-04T23:00:00-05:00"),
        ],
        ids=["march", "november"],
    )
    def test_a_daily_run_stays_at_nine_local_across_daylight_saving_changes(self, anchor, start, end):
        raw = {"interval": 86400, "anchor_date": anchor, "timezone": "America/New_York"}
        found = due(raw, start, end)
        assert len(found) == 8
        assert {v.astimezone(NEW_YORK).strftime("%H:%M") for v in found} == {"09:00"}
        assert {v.hour for v in found} == {13, 14}  # the UTC hour moves instead

    def test_an_hourly_run_follows_elapsed_time_across_the_spring_change(self):
        raw = {"interval": 3600, "anchor_date": "2026-03-08T00:00:00-05:00", "timezone": "America/New_York"}
        found = due(raw, "2026-03-08T00:00:00-05:00", n=5)
        assert [b - a for a, b in zip(found, found[1:], strict=False)] == [dt.timedelta(hours=1)] * 4
        assert local(found) == [
            "2026-03-08 00:00",
            "2026-03-08 01:00",
            "2026-03-08 03:00",  # 02:00 does not exist that night
            "2026-03-08 04:00",
            "2026-03-08 05:00",
        ]

    def test_an_end_bounds_the_dates(self):
        raw = {"interval": 600, "anchor_date": "2026-01-01T00:00:00Z"}
        assert len(due(raw, "2026-01-01T00:00:00+00:00", "2026-01-01T00:30:00+00:00")) == 4


class TestCronSchedules:
    def test_nine_every_morning_stays_nine_local_across_both_changes(self):
        raw = {"cron": "0 9 * * *", "timezone": "America/New_York"}
        march = due(raw, "2026-03-06T00:00:00-05:00", "2026-03-10T23:00:00-04:00")
        november = due(raw, "2026-10-30T00:00:00-04:00", "2026-11-03T23:00:00-05:00")
        for found in (march, november):
            assert len(found) == 5
            assert {v.astimezone(NEW_YORK).hour for v in found} == {9}
            assert {v.hour for v in found} == {13, 14}

    def test_day_or_true_runs_on_the_day_of_month_or_the_weekday(self):
        found = due({"cron": "0 0 13 * FRI", "day_or": True}, "2026-01-01T00:00:00+00:00", n=4)
        assert [v.date().isoformat() for v in found] == ["2026-01-02", "2026-01-09", "2026-01-13", "2026-01-16"]

    def test_day_or_false_runs_only_when_both_match(self):
        found = due({"cron": "0 0 13 * FRI", "day_or": False}, "2026-01-01T00:00:00+00:00", n=3)
        assert [v.date().isoformat() for v in found] == ["2026-02-13", "2026-03-13", "2026-11-13"]

    def test_a_slot_exactly_at_the_start_is_due_but_not_one_a_moment_before(self):
        raw = {"cron": "0 9 * * *"}
        assert due(raw, "2026-01-01T09:00:00+00:00", n=1) == [at("2026-01-01T09:00:00+00:00")]
        assert due(raw, "2026-01-01T09:00:00.500000+00:00", n=1) == [at("2026-01-02T09:00:00+00:00")]

    def test_a_cron_that_never_fires_has_no_dates(self):
        assert due({"cron": "0 0 31 2 *"}, "2026-01-01T00:00:00+00:00", n=3) == []


class TestRRuleSchedules:
    def test_it_fires_on_the_wall_clock_of_its_timezone(self):
        raw = {"rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0", "timezone": "America/New_York"}
        found = due(raw, "2026-03-06T00:00:00-05:00", "2026-03-10T23:00:00-04:00")
        assert local(found) == [f"2026-03-{day:02d} 09:00" for day in range(6, 11)]

    def test_an_exdate_leaves_its_day_out(self):
        raw = {
            "rrule": "DTSTART:20260101T090000\nRRULE:FREQ=DAILY\nEXDATE:20260103T090000",
            "timezone": "Europe/Paris",
        }
        found = due(raw, "2026-01-01T00:00:00+00:00", n=4)
        assert local(found, PARIS) == ["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-04 09:00", "2026-01-05 09:00"]
        assert found[0] == at("2026-01-01T08:00:00+00:00")

    def test_an_rdate_adds_a_day(self):
        raw = {"rrule": "DTSTART:20260105T120000\nRRULE:FREQ=WEEKLY;BYDAY=MO\nRDATE:20260107T120000"}
        found = due(raw, "2026-01-05T00:00:00+00:00", n=3)
        assert [v.date().isoformat() for v in found] == ["2026-01-05", "2026-01-07", "2026-01-12"]

    def test_a_dtstart_with_its_own_timezone_keeps_it(self):
        raw = {
            "rrule": "DTSTART;TZID=America/New_York:20260301T090000\nRRULE:FREQ=DAILY",
            "timezone": "America/New_York",
        }
        found = due(raw, "2026-03-07T00:00:00-05:00", n=3)
        assert local(found) == ["2026-03-07 09:00", "2026-03-08 09:00", "2026-03-09 09:00"]

    def test_a_rule_whose_count_is_used_up_has_no_more_dates(self):
        raw = {"rrule": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY;COUNT=3"}
        assert len(due(raw, "2025-12-01T00:00:00+00:00", n=10)) == 3
        assert due(raw, "2026-02-01T00:00:00+00:00", n=10) == []


class TestBounds:
    def test_without_an_end_one_date_is_given(self):
        assert len(due({"interval": 60}, "2026-01-01T00:00:00+00:00")) == 1

    def test_a_limit_caps_the_dates(self):
        assert len(due({"interval": 60}, "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", n=7)) == 7

    def test_dates_beyond_the_calendar_end_the_schedule(self):
        raw = {"interval": 3600, "anchor_date": "9999-12-31T22:00:00Z", "timezone": "UTC"}
        assert due(raw, "9999-12-31T00:00:00+00:00", n=5) == [
            at("9999-12-31T22:00:00+00:00"),
            at("9999-12-31T23:00:00+00:00"),
        ]
