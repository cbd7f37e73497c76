package dev.trackgate

import dev.trackgate.support.PublisherTest
import dev.trackgate.support.gateWith
import dev.trackgate.support.options
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * Refusals arrive as typed exceptions: one [GateException] subclass per cause, each message
 * starting with the call that failed and naming the argument.
 */
class ErrorsTest : PublisherTest() {
    /** Exhaustive over the sealed class (no `else`): a new error variant fails to compile here. */
    private fun kind(error: GateException): String = when (error) {
        is GateException.InvalidOptions -> "InvalidOptions"
        is GateException.InvalidArgument -> "InvalidArgument"
        is GateException.InvalidName -> "InvalidName"
        is GateException.Unregistered -> "Unregistered"
        is GateException.StaleEventId -> "StaleEventId"
        is GateException.NoTransport -> "NoTransport"
        is GateException.BundledPlanRefused -> "BundledPlanRefused"
        is GateException.StoreProblem -> "StoreProblem"
    }

    private inline fun <reified E : GateException> assertGateError(messagePart: String, crossinline call: () -> Unit): E {
        val error = assertThrows(E::class.java) { call() }
        assertTrue(error.message!!.contains(messagePart), "expected '$messagePart' in: ${error.message}")
        assertEquals(E::class.simpleName, kind(error))
        return error
    }

    @Test
    fun `unusable options are InvalidOptions naming the field`() {
        val store = dir.resolve("store")
        assertGateError<GateException.InvalidOptions>("GateOptions.trusted_keys[0]") {
            Gate(options(publisher, store).copy(trustedKeys = listOf(TrustedKey.Hex("not hex"))))
        }
        assertGateError<GateException.InvalidOptions>("GateOptions.trusted_keys: no key given") {
            Gate(options(publisher, store).copy(trustedKeys = emptyList()))
        }
        assertGateError<GateException.InvalidOptions>("GateOptions.plan_url: required when a transport is given") {
            Gate(options(publisher, store, transport = HttpURLConnectionTransport()))
        }
        assertGateError<GateException.InvalidOptions>("GateOptions.unit_id") {
            Gate(options(publisher, store, unitId = ""))
        }
        assertGateError<GateException.InvalidOptions>("GateOptions.app/env") {
            Gate(options(publisher, store).copy(app = "bad app"))
        }
    }

    @Test
    fun `bad arguments are InvalidArgument naming the call`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)).use { gate ->
            assertGateError<GateException.InvalidArgument>("decide_batch: 2 names but 1 sizes") {
                gate.decideBatch(listOf("a", "b"), listOf(1u))
            }
            assertGateError<GateException.InvalidArgument>("decide_ids: 0 ids but 1 sizes") {
                gate.decideIds(emptyList(), listOf(1u))
            }
            assertGateError<GateException.InvalidArgument>("set_unit_id:") { gate.setUnitId("") }
            assertEquals("install-1", gate.unitId(), "a refused unit id changes nothing")
        }

    @Test
    fun `resolve refuses invalid and unregistered names, quoting them`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)).use { gate ->
            assertGateError<GateException.InvalidName>("resolve(\"bad name!\")") { gate.resolve("bad name!") }
            assertGateError<GateException.Unregistered>("resolve(\"not.in.plan\")") { gate.resolve("not.in.plan") }
            val long = "é".repeat(100)
            val error = assertGateError<GateException.InvalidName>("(200 bytes)") { gate.resolve(long) }
            assertTrue(error.message!!.length < 150, "a huge argument is shortened: ${error.message}")
        }

    @Test
    fun `an id from a replaced plan is StaleEventId and nothing is counted`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)).use { gate ->
            val id = gate.resolve("checkout.completed")
            assertEquals(Decision.Keep(1.0), gate.decideId(id, 1u))
            assertTrue(gate.applyPlan(publisher.sealStandard(2)) is ApplyOutcome.Installed)
            assertGateError<GateException.StaleEventId>("no longer active; resolve the name again") {
                gate.decideId(id, 1u)
            }
            val fresh = gate.resolve("checkout.completed")
            assertEquals(Decision.Keep(1.0), gate.decideId(fresh, 1u))
            assertEquals(2uL, gate.takeReport().report.offered, "the stale call was not counted")
        }

    @Test
    fun `fetch calls without a transport are NoTransport naming the call`(): Unit =
        gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)).use { gate ->
            assertGateError<GateException.NoTransport>("refresh_now: no transport configured") { gate.refreshNow() }
            assertGateError<GateException.NoTransport>("on_foreground: no transport configured") { gate.onForeground() }
            assertGateError<GateException.NoTransport>("fetch_if_due: no transport configured") { gate.fetchIfDue() }
        }

    @Test
    fun `the wrapper refuses programming errors and use after close with JVM exceptions`() {
        val trackgate = Trackgate(gateWith(publisher, dir.resolve("store"), publisher.sealStandard(1)))
        val negative = assertThrows(IllegalArgumentException::class.java) { trackgate.track("checkout.completed", -1) }
        assertTrue(negative.message!!.contains("sizeBytes must be >= 0"), negative.message)
        val lengths = assertThrows(IllegalArgumentException::class.java) {
            trackgate.trackAll(listOf("a", "b"), longArrayOf(1))
        }
        assertTrue(lengths.message!!.contains("2 names but 1 sizes"), lengths.message)
        trackgate.close()
        trackgate.close() // idempotent
        val closed = assertThrows(IllegalStateException::class.java) { trackgate.track("checkout.completed", 1) }
        assertTrue(closed.message!!.contains("destroyed"), closed.message)
    }
}
