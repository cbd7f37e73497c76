package dev.trackgate

import dev.trackgate.support.Publisher
import dev.trackgate.support.options
import dev.trackgate.support.plan
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * Many threads deciding through one gate while plans are swapped and reports taken: every
 * decision the threads saw is in exactly one report, reason for reason.
 */
class ConcurrencyTest {
    @TempDir
    lateinit var dir: Path

    private val names = listOf(
        "app.opened", "screen.viewed", "search.performed", "retire.me", "never.sampled", "limited",
        "photo.uploaded", "not.in.plan", "bad name!", "checkout.completed",
    )

    private fun events(retired: Boolean) = """
        "app.opened": {"priority": "P0"},
        "screen.viewed": {"priority": "P2"},
        "search.performed": {"priority": "P2"},
        "retire.me": {"priority": "P3" ${if (retired) ", \"status\": \"retired\"" else ""}},
        "never.sampled": {"priority": "P3", "sample": 0},
        "limited": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 3}},
        "photo.uploaded": {"priority": "P1", "max_bytes": 500},
        "checkout.completed": {"priority": "P0"}
    """

    /** What one thread saw: index 0 kept, 1..8 dropped by reason code. */
    private class Tally {
        val byCode = LongArray(9)
        var retireMeKept = 0L
        var retireMeRetired = 0L

        fun count(name: String, decision: Decision) {
            val code = when (decision) {
                is Decision.Keep -> 0
                is Decision.Drop -> dropReasonCode(decision.reason).toInt()
            }
            byCode[code]++
            if (name == "retire.me") {
                if (code == 0) retireMeKept++
                if (decision == Decision.Drop(DropReason.RETIRED)) retireMeRetired++
            }
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    fun `8 threads x 30k decisions with plan swaps midway are all counted exactly once`() {
        val threads = 8
        // 100 decisions per chunk: 5 track, 5 decide by name, one trackAll of 90. Single calls cost
        // microseconds each through JNA (docs/performance.md), so most decisions go in batches;
        // every path still runs on every thread across both plan swaps. 300 chunks keep the test
        // at a few seconds on 2 cores; the swaps still land mid-run (they wait on progress).
        val chunksPerThread = 300
        val publisher = Publisher(dir.resolve("publisher"))
        val v1 = publisher.seal(plan(1, events = events(retired = false)), 1)
        val v2 = publisher.seal(plan(2, events = events(retired = true)), 2)
        val v3 = publisher.seal(plan(3, events = events(retired = true)), 3)

        Trackgate.open(options(publisher, dir.resolve("store"))).use { trackgate ->
            assertTrue(trackgate.applyPlan(v1) is ApplyOutcome.Installed)
            val progress = AtomicLong()
            val start = CountDownLatch(1)
            val failures = java.util.concurrent.ConcurrentLinkedQueue<Throwable>()
            val tallies = List(threads) { Tally() }
            val workers = (0 until threads).map { thread ->
                Thread {
                    try {
                        start.await()
                        val tally = tallies[thread]
                        val batchNames = List(90) { names[(it + thread) % names.size] }
                        val batchSizes = LongArray(90) { (it * 13L) % 700 }
                        repeat(chunksPerThread) { chunk ->
                            for (i in 0 until 10) {
                                val name = names[(i + chunk + thread) % names.size]
                                val size = (i * 97L) % 700
                                val decision = if (i % 2 == 0) trackgate.gate.decide(name, size.toULong())
                                else trackgate.track(name, size)
                                tally.count(name, decision)
                            }
                            val batch = trackgate.trackAll(batchNames, batchSizes)
                            for (index in 0 until batch.size) tally.count(batchNames[index], batch.decision(index))
                            progress.addAndGet(100)
                        }
                    } catch (error: Throwable) {
                        failures.add(error)
                    }
                }.apply { start() }
            }

            val reports = mutableListOf<DropReport>()
            val done = AtomicBoolean(false)
            val reporter = Thread {
                while (!done.get()) {
                    synchronized(reports) { reports.add(trackgate.takeReport().report) }
                    Thread.sleep(50)
                }
            }.apply { start() }

            val total = threads * chunksPerThread * 100L
            start.countDown()
            while (progress.get() < total * 2 / 5) Thread.sleep(1)
            // Through the wrapper: its name cache is cleared at once.
            assertEquals(ApplyOutcome.Installed(1u, 2u), trackgate.applyPlan(v2))
            while (progress.get() < total * 3 / 5) Thread.sleep(1)
            // Behind the wrapper's back: its cached ids go stale and are re-resolved on the fly.
            assertEquals(ApplyOutcome.Installed(2u, 3u), trackgate.gate.applyPlan(v3))
            workers.forEach { it.join() }
            done.set(true)
            reporter.join()
            reports.add(trackgate.takeReport().report)
            failures.firstOrNull()?.let { throw it }

            val seen = LongArray(9)
            tallies.forEach { tally -> for (code in 0 until 9) seen[code] += tally.byCode[code] }
            assertEquals(total, seen.sum(), "every thread made its decisions")

            for (report in reports) {
                val d = report.dropped
                val dropped = d.disabled + d.invalidName + d.unregistered + d.retired + d.shed + d.oversize +
                    d.sampledOut + d.rateLimited
                assertEquals(report.offered, report.kept + dropped, "one report adds up: $report")
            }
            fun sum(select: (DropReport) -> ULong) = reports.sumOf { select(it).toLong() }
            assertEquals(total, sum { it.offered }, "offered over all reports")
            assertEquals(seen[0], sum { it.kept }, "kept")
            val counted = mapOf(
                DropReason.DISABLED to sum { it.dropped.disabled },
                DropReason.INVALID_NAME to sum { it.dropped.invalidName },
                DropReason.UNREGISTERED to sum { it.dropped.unregistered },
                DropReason.RETIRED to sum { it.dropped.retired },
                DropReason.SHED to sum { it.dropped.shed },
                DropReason.OVERSIZE to sum { it.dropped.oversize },
                DropReason.SAMPLED_OUT to sum { it.dropped.sampledOut },
                DropReason.RATE_LIMITED to sum { it.dropped.rateLimited },
            )
            for ((reason, count) in counted) {
                assertEquals(seen[dropReasonCode(reason).toInt()], count, "dropped as $reason")
            }
            assertTrue(reports.size > 2, "reports were taken while deciding (${reports.size})")
            val retireMeKept = tallies.sumOf { it.retireMeKept }
            val retireMeRetired = tallies.sumOf { it.retireMeRetired }
            assertTrue(retireMeKept > 0 && retireMeRetired > 0, "the swap took effect: $retireMeKept kept, $retireMeRetired retired")
            assertEquals(3uL, trackgate.status().version)
        }
    }
}
