"""The mergeable latency histogram and run statistics of ``csms loadtest``."""

from __future__ import annotations

import math
import random

import pytest

from csms.loadtest.stats import ActionStats, Episode, Histogram, RunStats, bucket_of, bucket_upper


def test_bucket_bounds_contain_the_value_within_a_few_percent() -> None:
    for seconds in (2e-6, 1e-4, 3.3e-3, 0.1, 2.5, 40.0):
        upper = bucket_upper(bucket_of(seconds))
        assert seconds <= upper <= seconds * 1.025


def test_percentiles_match_exact_nearest_rank_within_precision() -> None:
    rng = random.Random(7)
    samples = [rng.lognormvariate(math.log(0.005), 0.8) for _ in range(20_000)]
    hist = Histogram()
    for s in samples:
        hist.record(s)
    ordered = sorted(samples)
    for pct in (50, 95, 99):
        exact = ordered[math.ceil(pct / 100 * len(ordered)) - 1]
        assert exact <= hist.percentile(pct) <= exact * 1.025
    assert hist.percentile(100) == hist.high == ordered[-1]
    assert hist.count == len(samples)
    assert hist.summary_ms()["max"] == round(ordered[-1] * 1e3, 3)


def test_empty_histogram_reports_zero() -> None:
    hist = Histogram()
    assert hist.percentile(99) == 0.0
    assert hist.summary_ms() == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}


def test_merged_histograms_equal_one_histogram_of_all_samples() -> None:
    rng = random.Random(3)
    whole, left, right = Histogram(), Histogram(), Histogram()
    for i in range(5_000):
        value = rng.uniform(1e-4, 0.2)
        whole.record(value)
        (left if i % 3 else right).record(value)
    left.merge(right)
    assert left.buckets == whole.buckets
    assert left.count == whole.count
    assert left.low == whole.low and left.high == whole.high
    assert left.percentile(99) == whole.percentile(99)


def test_single_sample_percentile_is_the_sample() -> None:
    hist = Histogram()
    hist.record(0.0123)
    assert hist.percentile(50) == pytest.approx(0.0123)


def test_run_stats_survive_the_process_boundary_form_and_merge() -> None:
    a = RunStats(stations=3, open_now=3, open_peak=3, accepted_now=3, all_accepted_at=100.0)
    hb = a.action("Heartbeat")
    hb.sent, hb.answered, hb.measured = 5, 4, 4
    hb.errors["InternalError"] += 1
    hb.latency.record(0.002)
    a.connect.errors["http_401"] += 2
    a.episodes.append(Episode(200.0, 203.0, 3))
    b = RunStats(stations=2, open_now=1, accepted_now=1, all_accepted_at=101.0)
    b.action("Heartbeat").timeouts = 1
    b.episodes.append(Episode(199.5, None, 1))

    restored = RunStats.from_dict(a.to_dict())
    assert restored.to_dict() == a.to_dict()
    restored.merge(RunStats.from_dict(b.to_dict()))
    assert restored.stations == 5
    assert restored.open_now == 4
    assert restored.all_accepted_at == 101.0
    assert restored.action("Heartbeat").timeouts == 1
    assert restored.errors_total == 1 + 1 + 2  # CALLERROR + timeout + refused handshakes
    # Episodes pair up: earliest start, and still open while one worker has not recovered.
    assert [(e.start, e.end, e.boots) for e in restored.episodes] == [(199.5, None, 4)]


def test_all_accepted_stays_unknown_until_every_worker_got_there() -> None:
    a = RunStats(stations=1, all_accepted_at=10.0)
    a.merge(RunStats(stations=1, all_accepted_at=None))
    assert a.all_accepted_at is None


def test_action_stats_round_trip() -> None:
    stats = ActionStats(sent=2, answered=1, measured=1, timeouts=1, unanswered_at_close=0)
    stats.latency.record(0.5)
    assert ActionStats.from_dict(stats.to_dict()).to_dict() == stats.to_dict()
