package dev.trackgate

import dev.trackgate.support.Publisher
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files

/** `status()`: where the active plan came from, its version and times, and the last problem. */
class StatusTest : PublisherTest() {
    private fun now() = System.currentTimeMillis() / 1000

    @Test
    fun `a first start without any plan runs the fail policy as version 0`() {
        Gate(options(publisher, dir.resolve("store"))).use { gate ->
            val status = gate.status()
            assertEquals(PlanSource.FAIL_POLICY, status.source)
            assertEquals(0uL, status.version)
            assertNull(status.issuedAtUnix)
            assertNull(status.expiresAtUnix)
            assertFalse(status.expired)
            assertEquals(0u, status.consecutiveFailures)
            assertEquals(Decision.Keep(1.0), gate.decide("anything.at.all", 1u), "KeepAll keeps everything")
        }
        Gate(options(publisher, dir.resolve("store-p0"), failPolicy = FailPolicy.KEEP_P0_ONLY)).use { gate ->
            assertEquals(Decision.Drop(DropReason.UNREGISTERED), gate.decide("anything.at.all", 1u))
        }
    }

    @Test
    fun `an applied plan is NETWORK with its signing times, and CACHE after a restart`() {
        val store = dir.resolve("store")
        val before = now()
        val envelope = publisher.seal(dev.trackgate.support.standardPlan(4), 4, listOf("--expires", "2d"))
        Gate(options(publisher, store)).use { gate ->
            assertTrue(gate.applyPlan(envelope) is ApplyOutcome.Installed)
            val status = gate.status()
            assertEquals(PlanSource.NETWORK, status.source)
            assertEquals(4uL, status.version)
            val issued = assertNotNull(status.issuedAtUnix).let { status.issuedAtUnix!!.toLong() }
            assertTrue(issued in before - 5..now() + 5, "issued at $issued")
            assertEquals(issued + 2 * 86_400, status.expiresAtUnix!!.toLong())
            assertTrue(status.ageSeconds!!.toLong() in 0..60)
            assertFalse(status.expired)
            assertNull(status.lastError)
        }
        Gate(options(publisher, store)).use { restarted ->
            assertEquals(PlanSource.CACHE, restarted.status().source)
            assertEquals(4uL, restarted.status().version)
            assertEquals(Decision.Drop(DropReason.RETIRED), restarted.decide("legacy.banner_seen", 1u))
        }
    }

    @Test
    fun `a bundled plan is used on first start`() {
        val bundled = publisher.sealStandard(2)
        Gate(options(publisher, dir.resolve("store"), bundled = bundled)).use { gate ->
            assertEquals(PlanSource.BUNDLED, gate.status().source)
            assertEquals(2uL, gate.status().version)
        }
    }

    @Test
    fun `a refused plan shows in lastError and the active plan stays`(): Unit =
        Gate(options(publisher, dir.resolve("store"))).use { gate ->
            gate.applyPlan(publisher.sealStandard(1))
            val refused = gate.applyPlan(Publisher(dir.resolve("stranger")).sealStandard(2))
            assertEquals("unknown_key", (refused as ApplyOutcome.Refused).kind)
            val status = gate.status()
            assertEquals(1uL, status.version)
            assertTrue(status.lastError!!.contains("unknown key"), status.lastError)
        }

    @Test
    fun `an unusable store still starts, says why, and refuses to install what it cannot persist`() {
        val notADirectory = dir.resolve("file")
        Files.writeString(notADirectory, "in the way")
        Gate(options(publisher, notADirectory)).use { gate ->
            val status = gate.status()
            assertEquals(PlanSource.FAIL_POLICY, status.source)
            assertTrue(status.lastError!!.contains(notADirectory.toString()), status.lastError)
            val outcome = gate.applyPlan(publisher.sealStandard(1))
            assertTrue(outcome is ApplyOutcome.NotPersisted, "$outcome")
            assertEquals(0uL, gate.status().version, "a plan a restart could not load is never active")
        }
    }
}
