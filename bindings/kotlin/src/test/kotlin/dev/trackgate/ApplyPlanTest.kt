package dev.trackgate

import dev.trackgate.support.Publisher
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import dev.trackgate.support.plan
import dev.trackgate.support.standardPlan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** `apply_plan`: valid plans install; forged, rolled-back or stale ones change nothing. */
class ApplyPlanTest : PublisherTest() {
    private fun gate(): Gate = Gate(options(publisher, dir.resolve("store")))

    /** v2 of the standard plan with `checkout.completed` retired: decisions show which is active. */
    private fun retiringPlan(version: Long) = publisher.seal(
        plan(version, events = """"checkout.completed": {"priority": "P0", "status": "retired"}"""),
        version,
    )

    private fun assertRefused(outcome: ApplyOutcome, kind: String, reasonPart: String) {
        assertTrue(outcome is ApplyOutcome.Refused, "expected a refusal, got $outcome")
        outcome as ApplyOutcome.Refused
        assertEquals(kind, outcome.kind, outcome.reason)
        assertTrue(outcome.reason.contains(reasonPart), "expected '$reasonPart' in: ${outcome.reason}")
    }

    private fun assertStillVersion(gate: Gate, version: Long, checkoutDecision: Decision) {
        assertEquals(version.toULong(), gate.status().version)
        assertEquals(checkoutDecision, gate.decide("checkout.completed", 1u))
    }

    @Test
    fun `valid plans install in order and take effect at once`(): Unit = gate().use { gate ->
        assertEquals(ApplyOutcome.Installed(previousVersion = 0u, version = 1u), gate.applyPlan(publisher.sealStandard(1)))
        assertStillVersion(gate, 1, Decision.Keep(1.0))
        assertEquals(ApplyOutcome.Installed(previousVersion = 1u, version = 2u), gate.applyPlan(retiringPlan(2)))
        assertStillVersion(gate, 2, Decision.Drop(DropReason.RETIRED))
    }

    @Test
    fun `the same bytes again are AlreadyCurrent`(): Unit = gate().use { gate ->
        val envelope = publisher.sealStandard(1)
        gate.applyPlan(envelope)
        assertEquals(ApplyOutcome.AlreadyCurrent, gate.applyPlan(envelope))
    }

    @Test
    fun `forged envelopes are refused by the check that catches them`(): Unit = gate().use { gate ->
        gate.applyPlan(publisher.sealStandard(1))
        val good = publisher.sealStandard(2)

        val badSignature = good.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertRefused(gate.applyPlan(badSignature), "bad_signature", "signature")

        val tamperedPayload = good.copyOf().also { it[it.size - 70] = (it[it.size - 70].toInt() xor 0x20).toByte() }
        assertRefused(gate.applyPlan(tamperedPayload), "bad_signature", "signature")

        val stranger = Publisher(dir.resolve("stranger"))
        assertRefused(gate.applyPlan(stranger.sealStandard(2)), "unknown_key", "unknown key")

        assertRefused(gate.applyPlan(good.copyOf(30)), "malformed", "truncated")
        assertRefused(gate.applyPlan(ByteArray(0)), "malformed", "")

        val otherApp = publisher.seal(standardPlan(2).replace("\"app\": \"shop\"", "\"app\": \"other\""), 2)
        assertRefused(gate.applyPlan(otherApp), "wrong_scope", "other")

        assertStillVersion(gate, 1, Decision.Keep(1.0))
        assertEquals(ApplyOutcome.Installed(1u, 2u), gate.applyPlan(good), "the genuine plan still installs")
    }

    @Test
    fun `an older plan is a rollback and the last good plan stays, also after a restart`() {
        gate().use { gate ->
            gate.applyPlan(publisher.sealStandard(1))
            gate.applyPlan(retiringPlan(3))
            assertRefused(gate.applyPlan(publisher.sealStandard(2)), "rollback", "2")
            assertStillVersion(gate, 3, Decision.Drop(DropReason.RETIRED))
            assertTrue(gate.status().lastError!!.isNotEmpty())
        }
        gate().use { restarted ->
            assertEquals(PlanSource.CACHE, restarted.status().source)
            assertStillVersion(restarted, 3, Decision.Drop(DropReason.RETIRED))
            assertRefused(restarted.applyPlan(publisher.sealStandard(1)), "rollback", "1")
        }
    }

    @Test
    fun `a different plan under the same version is equivocation`(): Unit = gate().use { gate ->
        gate.applyPlan(publisher.sealStandard(2))
        assertRefused(gate.applyPlan(retiringPlan(2)), "equivocation", "2")
        assertStillVersion(gate, 2, Decision.Keep(1.0))
    }

    @Test
    fun `an expired plan is refused`(): Unit = gate().use { gate ->
        val longAgo = System.currentTimeMillis() / 1000 - 40 * 86_400
        val expired = publisher.seal(standardPlan(1), 1, listOf("--issued-at", longAgo.toString(), "--expires", "1d"))
        assertRefused(gate.applyPlan(expired), "expired", "expired")
        assertEquals(PlanSource.FAIL_POLICY, gate.status().source)
    }
}
