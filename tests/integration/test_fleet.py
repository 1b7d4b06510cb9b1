"""A short fleet profile (`make fleet` runs the full one, and times it): ten resources
over three stacks, two packages governed by two stacks at once, each event a cold
process of the dev venv, every phase launched together against a registry whose
throttle answers many of them ThrottlingException. Every event succeeds and every
package ends as before the fleet. No timing is asserted here."""

from __future__ import annotations

from devkit.fleet import DESCRIBE, TABLE, UPDATE, FleetConfig, Limit, run_fleet
from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.throttle import Throttle


def test_a_throttled_fleet_all_succeeds_and_leaves_every_package_as_before(
        registry: LocalRegistry, receiver: ResponseReceiver) -> None:
    # GIVEN a throttle far below what ten events launched at once ask for
    config = FleetConfig(resources=10, stacks=3, shared=2, describe=Limit(20.0, 2.0), update=Limit(5.0, 1.0),
                         table=Limit(50.0, 10.0), timeout_ms=60_000)
    # WHEN the fleet is created, updated, replaced and deleted, each phase at once
    result = run_fleet(config, registry, receiver)
    # THEN every event of every phase succeeded, with no more calls than the minimum
    assert [phase.name for phase in result.phases] == ["create", "update", "replacement", "delete"]
    for phase in result.phases:
        assert phase.statuses == {"SUCCESS": phase.events}, f"{phase.name}: {phase.reasons}"
        # a race for a shared package's record makes its loser describe again
        assert phase.minimum[DESCRIBE] <= phase.admitted[DESCRIBE] <= phase.minimum[DESCRIBE] + 2 * 2, phase.name
        assert phase.admitted[UPDATE] == phase.minimum[UPDATE], phase.name
        assert phase.leaks == 0
    assert [phase.events for phase in result.phases] == [10, 10, 20, 10]
    # AND the throttle did throttle: the retries absorbed it
    assert sum(phase.throttled[UPDATE] for phase in result.phases) > 0
    # AND every package is as it was before the fleet, no record naming any resource
    assert result.changed == [] and result.records_left == 0
    assert registry.throttle is None


def test_the_token_bucket_admits_its_burst_then_its_rate() -> None:
    now = [0.0]
    throttle = Throttle({UPDATE: (2.0, 3.0)}, clock=lambda: now[0])
    assert [throttle.admit(UPDATE) for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token more
    assert [throttle.admit(UPDATE) for _ in range(2)] == [True, False]
    now[0] = 100.0  # idle: the bucket holds its burst, no more
    assert [throttle.admit(UPDATE) for _ in range(4)] == [True, True, True, False]
    assert throttle.admit("GetItem") and throttle.counts(TABLE) == (1, 0)  # no bucket: always admitted
    assert throttle.counts(UPDATE) == (7, 3)
