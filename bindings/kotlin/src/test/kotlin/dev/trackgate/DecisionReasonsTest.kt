package dev.trackgate

import dev.trackgate.support.PublisherTest
import dev.trackgate.support.gateWith
import dev.trackgate.support.plan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Every decision the gate can give, through the generated binding, from plans the CLI signed. */
class DecisionReasonsTest : PublisherTest() {
    private fun gate(planJson: String, unitId: String = "install-1"): Gate =
        gateWith(publisher, dir.resolve("store"), publisher.seal(planJson, 1), unitId)

    private val events = """
        "checkout.completed": {"priority": "P0"},
        "feed.viewed": {"priority": "P2"},
        "legacy.banner_seen": {"priority": "P3", "status": "retired", "max_bytes": 10},
        "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
        "scroll.depth": {"priority": "P2", "sample": 0},
        "search.typed": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 1}}
    """

    private fun drop(reason: DropReason) = Decision.Drop(reason)

    @Test
    fun `a registered event is kept with weight 1`(): Unit = gate(plan(1, events = events)).use { gate ->
        assertEquals(Decision.Keep(1.0), gate.decide("checkout.completed", 120u))
    }

    @Test
    fun `the kill switch drops every event as DISABLED, even invalid names`(): Unit =
        gate(plan(1, """"enabled": false,""", events)).use { gate ->
            assertEquals(drop(DropReason.DISABLED), gate.decide("checkout.completed", 1u))
            assertEquals(drop(DropReason.DISABLED), gate.decide("bad name!", 1u))
        }

    @Test
    fun `a name breaking the naming rules is INVALID_NAME`(): Unit = gate(plan(1, events = events)).use { gate ->
        assertEquals(drop(DropReason.INVALID_NAME), gate.decide("bad name!", 1u))
        assertEquals(drop(DropReason.INVALID_NAME), gate.decide("", 1u))
        assertEquals(drop(DropReason.INVALID_NAME), gate.decide("x".repeat(129), 1u))
    }

    @Test
    fun `a valid name the plan does not list is UNREGISTERED, or kept when the plan keeps them`() {
        gate(plan(1, events = events)).use { gate ->
            assertEquals(drop(DropReason.UNREGISTERED), gate.decide("not.in.plan", 1u))
        }
        gateWith(
            publisher, dir.resolve("store-keep"), publisher.seal(plan(1, """"unregistered": "keep",""", events), 1),
        ).use { gate ->
            assertEquals(Decision.Keep(1.0), gate.decide("not.in.plan", 1u))
        }
    }

    @Test
    fun `a retired event is RETIRED, before its size cap is looked at`(): Unit = gate(plan(1, events = events)).use { gate ->
        assertEquals(drop(DropReason.RETIRED), gate.decide("legacy.banner_seen", 1u))
        // Retired and oversize at once: rules apply in order, the first refusal names the drop.
        assertEquals(drop(DropReason.RETIRED), gate.decide("legacy.banner_seen", 11u))
    }

    @Test
    fun `priorities below shed_below are SHED, P0 never`(): Unit =
        gate(plan(1, """"shed_below": "P1",""", events)).use { gate ->
            assertEquals(drop(DropReason.SHED), gate.decide("feed.viewed", 1u))
            assertEquals(Decision.Keep(1.0), gate.decide("photo.uploaded", 1u))
            assertEquals(Decision.Keep(1.0), gate.decide("checkout.completed", 1u))
        }

    @Test
    fun `an event over its max_bytes is OVERSIZE, at the cap it is kept`(): Unit = gate(plan(1, events = events)).use { gate ->
        assertEquals(Decision.Keep(1.0), gate.decide("photo.uploaded", 1000u))
        assertEquals(drop(DropReason.OVERSIZE), gate.decide("photo.uploaded", 1001u))
    }

    @Test
    fun `an event sampled at 0 is SAMPLED_OUT`(): Unit = gate(plan(1, events = events)).use { gate ->
        assertEquals(drop(DropReason.SAMPLED_OUT), gate.decide("scroll.depth", 1u))
    }

    @Test
    fun `an empty token bucket is RATE_LIMITED`(): Unit = gate(plan(1, events = events)).use { gate ->
        assertEquals(Decision.Keep(1.0), gate.decide("search.typed", 1u))
        assertEquals(drop(DropReason.RATE_LIMITED), gate.decide("search.typed", 1u))
    }

    @Test
    fun `a sampled event is kept with weight 2 exactly for the units the sampling spec keeps`() {
        val sampledPlan = publisher.seal(plan(1, """"sampling_salt": "s1",""", """"promo.seen": {"priority": "P2", "sample": 0.5}"""), 1)
        gateWith(publisher, dir.resolve("store"), sampledPlan).use { gate ->
            var kept = 0
            for (unit in 0 until 64) {
                val unitId = "unit-$unit"
                gate.setUnitId(unitId)
                val expected = samplingIsKept(samplingRandomValue("s1", unitId), 500_000u)
                val decision = gate.decide("promo.seen", 1u)
                assertEquals(if (expected) Decision.Keep(2.0) else drop(DropReason.SAMPLED_OUT), decision, unitId)
                if (expected) kept++
            }
            assertTrue(kept in 1..63, "both outcomes must occur among 64 units, kept $kept")
        }
    }
}
