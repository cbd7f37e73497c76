package dev.trackgate

import dev.trackgate.support.CountingGate
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import dev.trackgate.support.plan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The [Trackgate] wrapper: same answers as the gate, fewer crossings, exact counts. */
class TrackgateTest : PublisherTest() {
    private val names = listOf(
        "checkout.completed", "legacy.banner_seen", "photo.uploaded", "scroll.depth", "search.typed",
        "not.in.plan", "bad name!",
    )
    private val sizes = longArrayOf(10, 20, 2000, 40, 50, 60, 70)

    private fun counting(store: String = "store", scalar: Boolean = false): CountingGate =
        CountingGate(options(publisher, dir.resolve(store)), scalar)

    @Test
    fun `every name is decided through the scalar path, with the same answers and counts`() {
        assertTrue(ScalarPath.available, "the scalar functions are bound")
        val envelope = publisher.sealStandard(1)
        val reference = Gate(options(publisher, dir.resolve("reference"))).also { it.applyPlan(envelope) }
        val gate = counting(scalar = true)
        Trackgate(gate).use { trackgate ->
            trackgate.applyPlan(envelope)
            repeat(3) {
                for ((index, name) in names.withIndex()) {
                    assertEquals(reference.decide(name, sizes[index].toULong()), trackgate.track(name, sizes[index]), name)
                }
            }
            assertEquals(0, gate.generatedCalls, "no generated resolve, decideId or decide call")
            assertEquals(reference.takeReport().report.copy(windowStartUnixMs = 0u, windowEndUnixMs = 0u),
                trackgate.takeReport().report.copy(windowStartUnixMs = 0u, windowEndUnixMs = 0u))
        }
        reference.close()
    }

    @Test
    fun `the scalar path notices stale ids and a gate closed behind the wrapper`() {
        val gate = counting(scalar = true)
        Trackgate(gate, ownsGate = false).use { trackgate ->
            trackgate.applyPlan(publisher.sealStandard(1))
            assertEquals(Decision.Keep(1.0), trackgate.track("checkout.completed", 1))
            val retiring = plan(2, events = """"checkout.completed": {"priority": "P0", "status": "retired"}""")
            gate.applyPlan(publisher.seal(retiring, 2))
            assertEquals(Decision.Drop(DropReason.RETIRED), trackgate.track("checkout.completed", 1))
            assertEquals(0, gate.generatedCalls, "resolved again by the scalar path after the stale id")
            assertEquals(2uL, trackgate.takeReport().report.offered, "the stale attempt was not counted")
            gate.close()
            assertThrows(IllegalStateException::class.java) { trackgate.track("checkout.completed", 1) }
        }
    }

    @Test
    fun `track answers what decide answers, for every kind of name`() {
        val envelope = publisher.sealStandard(1)
        val reference = Gate(options(publisher, dir.resolve("reference"))).also { it.applyPlan(envelope) }
        Trackgate(counting()).use { trackgate ->
            trackgate.applyPlan(envelope)
            repeat(3) {
                for ((index, name) in names.withIndex()) {
                    val size = sizes[index].toULong()
                    assertEquals(reference.decide(name, size), trackgate.track(name, sizes[index]), name)
                }
            }
            assertEquals(reference.takeReport().report.copy(windowStartUnixMs = 0u, windowEndUnixMs = 0u),
                trackgate.takeReport().report.copy(windowStartUnixMs = 0u, windowEndUnixMs = 0u))
        }
        reference.close()
    }

    @Test
    fun `a name is resolved once, then decided by id, unresolvable names go by name`() {
        val gate = counting()
        Trackgate(gate).use { trackgate ->
            trackgate.applyPlan(publisher.sealStandard(1))
            repeat(5) { for ((index, name) in names.withIndex()) trackgate.track(name, sizes[index]) }
            assertEquals(names.size, gate.resolves.get(), "one resolve per distinct name")
            assertEquals(5 * 5, gate.byId.get(), "registered names by id")
            assertEquals(5 * 2, gate.byName.get(), "unregistered and invalid names by name")
        }
    }

    @Test
    fun `a plan installed behind the wrapper's back is noticed at the first stale id, and nothing is lost`() {
        val gate = counting()
        Trackgate(gate).use { trackgate ->
            trackgate.applyPlan(publisher.sealStandard(1))
            assertEquals(Decision.Keep(1.0), trackgate.track("checkout.completed", 1))
            val retiring = plan(2, events = """"checkout.completed": {"priority": "P0", "status": "retired"}""")
            gate.applyPlan(publisher.seal(retiring, 2)) // directly: the wrapper's cache still holds v1 ids
            assertEquals(Decision.Drop(DropReason.RETIRED), trackgate.track("checkout.completed", 1))
            assertEquals(1, gate.stale.get())
            assertEquals(2, gate.resolves.get())
            val report = trackgate.takeReport().report
            assertEquals(2uL, report.offered, "two calls, two decisions: the stale attempt was not counted")
            assertEquals(1uL, report.kept)
            assertEquals(1uL, report.dropped.retired)
        }
    }

    @Test
    fun `plans installed through the wrapper clear its cache at once`() {
        val gate = counting()
        Trackgate(gate).use { trackgate ->
            trackgate.applyPlan(publisher.sealStandard(1))
            trackgate.track("checkout.completed", 1)
            trackgate.applyPlan(publisher.sealStandard(2))
            trackgate.track("checkout.completed", 1)
            assertEquals(0, gate.stale.get(), "no stale id was ever tried")
            assertEquals(2, gate.resolves.get())
        }
    }

    @Test
    fun `trackAll answers what track answers, in order, stale ids included`() {
        val envelope = publisher.sealStandard(1)
        val many = List(40) { names[it % names.size] }
        val manySizes = LongArray(many.size) { sizes[it % sizes.size] }
        val expected = Trackgate(Gate(options(publisher, dir.resolve("single")))).use { single ->
            single.applyPlan(envelope)
            many.mapIndexed { index, name -> single.track(name, manySizes[index]) }
        }
        val gate = counting("batch")
        Trackgate(gate).use { batch ->
            batch.applyPlan(envelope)
            val result = batch.trackAll(many, manySizes)
            assertEquals(expected, result.decisions())
            assertEquals(expected.count { it is Decision.Keep }, result.keptCount)
            for (index in many.indices) {
                assertEquals(expected[index] is Decision.Keep, result.isKept(index))
                assertEquals((expected[index] as? Decision.Drop)?.reason, result.reason(index))
                assertEquals((expected[index] as? Decision.Keep)?.weight ?: 0.0, result.weight(index))
            }
            assertEquals(many.size.toULong(), batch.takeReport().report.offered)

            // New plan applied behind the wrapper: every cached id in the next batch is stale.
            gate.applyPlan(publisher.seal(plan(2, events = """"checkout.completed": {"priority": "P0"}"""), 2))
            val after = batch.trackAll(listOf("checkout.completed", "photo.uploaded"), longArrayOf(1, 1))
            assertEquals(listOf(Decision.Keep(1.0), Decision.Drop(DropReason.UNREGISTERED)), after.decisions())
            assertEquals(2uL, batch.takeReport().report.offered, "stale ids were decided once, by name")
        }
    }

    @Test
    fun `BatchResult reads every code the library defines`() {
        for (code in 0..255) {
            val codes = byteArrayOf(code.toByte())
            val result = BatchResult(codes, doubleArrayOf(0.0))
            val expected = dropReasonFromCode(code.toUByte())
            when {
                code == 0 -> assertNull(result.reason(0))
                expected != null -> assertEquals(expected, result.reason(0))
                else -> assertThrows(IllegalStateException::class.java) { result.reason(0) }
            }
        }
    }

    @Test
    fun `with no cache room every name is decided by name`() {
        val gate = counting()
        Trackgate(gate, maxCachedNames = 0).use { trackgate ->
            trackgate.applyPlan(publisher.sealStandard(1))
            repeat(3) { assertEquals(Decision.Keep(1.0), trackgate.track("checkout.completed", 1)) }
            assertEquals(0, gate.resolves.get())
            assertEquals(3, gate.byName.get())
        }
    }

    @Test
    fun `use closes the gate it owns, and only that one`() {
        val owned = Gate(options(publisher, dir.resolve("owned")))
        Trackgate(owned).use { it.track("x", 1) }
        assertTrue(owned.uniffiIsDestroyed)

        val shared = Gate(options(publisher, dir.resolve("shared")))
        Trackgate(shared, ownsGate = false).use { it.track("x", 1) }
        assertFalse(shared.uniffiIsDestroyed)
        assertEquals(Decision.Keep(1.0), shared.decide("x", 1u))
        shared.close()
    }
}
