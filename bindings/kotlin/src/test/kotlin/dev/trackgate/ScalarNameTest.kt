package dev.trackgate

import dev.trackgate.support.CountingGate
import dev.trackgate.support.PublisherTest
import dev.trackgate.support.options
import dev.trackgate.support.plan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.ConcurrentLinkedQueue

/**
 * [Trackgate.track] by name through the scalar entry points (`trackgate_resolve_scalar` for a
 * first-seen name, `trackgate_decide_name_scalar` for names without an id): call for call the
 * decisions of [Gate.decide], the same report, and no generated call.
 */
class ScalarNameTest : PublisherTest() {
    /** Names of every kind: registered (kept, retired, capped, sampled out, rate limited), unregistered, invalid. */
    private val names = listOf(
        "checkout.completed", "legacy.banner_seen", "photo.uploaded", "scroll.depth", "search.typed",
        "not.in.plan", "another.unknown", "bad name!", "", "événement", "名前", "a".repeat(129),
        "b".repeat(300), "c".repeat(200) + "é".repeat(100),
    )

    private fun DropReport.withoutWindow() = copy(windowStartUnixMs = 0u, windowEndUnixMs = 0u)

    /** Tracks every name [rounds] times on [trackgate] and decides it on [reference], comparing each answer. */
    private fun assertTracksLikeDecide(trackgate: Trackgate, reference: Gate, rounds: Int = 3) {
        repeat(rounds) { round ->
            for ((index, name) in names.withIndex()) {
                val size = 150L * index + 500L * round
                assertEquals(reference.decide(name, size.toULong()), trackgate.track(name, size), "${name.take(40)} at $size bytes")
            }
        }
    }

    @Test
    fun `first-seen, unregistered, invalid and retired names decide as gate decide, with no generated call`() {
        assertTrue(ScalarPath.available, "the scalar functions are bound")
        val v1 = publisher.sealStandard(1)
        val reference = Gate(options(publisher, dir.resolve("reference"))).also { it.applyPlan(v1) }
        val gate = CountingGate(options(publisher, dir.resolve("store")), scalar = true)
        Trackgate(gate, ownsGate = false).use { trackgate ->
            trackgate.applyPlan(v1)
            assertTracksLikeDecide(trackgate, reference)
            // Behind the wrapper's back: a registered name retires, an unregistered one registers.
            val v2 = publisher.seal(
                plan(2, events = """"checkout.completed": {"priority": "P0", "status": "retired"}, "not.in.plan": {"priority": "P1"}"""),
                2,
            )
            gate.applyPlan(v2)
            reference.applyPlan(v2)
            assertTracksLikeDecide(trackgate, reference)
            assertEquals(0, gate.generatedCalls, "no generated resolve, decide or decideId call")
            assertEquals(reference.takeReport().report.withoutWindow(), trackgate.takeReport().report.withoutWindow())
        }
        gate.close()
        reference.close()
    }

    @Test
    fun `with the cache full every name is decided by name through the scalar path`() {
        val v1 = publisher.sealStandard(1)
        val reference = Gate(options(publisher, dir.resolve("reference"))).also { it.applyPlan(v1) }
        val gate = CountingGate(options(publisher, dir.resolve("store")), scalar = true)
        Trackgate(gate, maxCachedNames = 2).use { trackgate ->
            trackgate.applyPlan(v1)
            assertTracksLikeDecide(trackgate, reference)
            assertEquals(0, gate.generatedCalls)
            assertEquals(reference.takeReport().report.withoutWindow(), trackgate.takeReport().report.withoutWindow())
        }
        reference.close()
    }

    @Test
    fun `a name with unpaired surrogates, which decide cannot encode, is decided as an invalid name`() {
        val gate = CountingGate(options(publisher, dir.resolve("store")), scalar = true)
        Trackgate(gate).use { trackgate ->
            trackgate.applyPlan(publisher.sealStandard(1))
            for (name in listOf("checkout\uD800completed", "\uDC00", "x\uD83D")) {
                assertEquals(Decision.Drop(DropReason.INVALID_NAME), trackgate.track(name, 1))
            }
            val report = trackgate.takeReport().report
            assertEquals(3uL, report.dropped.invalidName)
            assertEquals(3uL, report.offered)
            assertEquals(0, gate.generatedCalls)
        }
    }

    @Test
    fun `threads encoding names of different lengths at once get their own names' decisions`() {
        val v1 = publisher.seal(
            plan(1, events = """"kept.event": {"priority": "P0"}, "retired.event": {"priority": "P3", "status": "retired"}"""),
            1,
        )
        val mixed = listOf("kept.event", "retired.event", "unknown.event.with.a.longer.name", "x", "bad name", "k".repeat(400))
        Trackgate(Gate(options(publisher, dir.resolve("store"))), maxCachedNames = 0).use { trackgate ->
            trackgate.applyPlan(v1)
            val expected = mixed.map { trackgate.gate.decide(it, 1u) }
            val failures = ConcurrentLinkedQueue<String>()
            val threads = (0 until 4).map { thread ->
                Thread {
                    repeat(2_000) { call ->
                        val index = (call + thread) % mixed.size
                        val decision = trackgate.track(mixed[index], 1)
                        if (decision != expected[index]) failures.add("thread $thread: ${mixed[index].take(20)} gave $decision")
                    }
                }.apply { start() }
            }
            threads.forEach { it.join() }
            assertEquals(emptyList<String>(), failures.take(5))
            assertEquals((mixed.size + 4 * 2_000).toULong(), trackgate.takeReport().report.offered)
        }
    }
}
