@file:JvmName("CallCostBench")

package dev.trackgate.bench

import dev.trackgate.ApplyOutcome
import dev.trackgate.Decision
import dev.trackgate.FailPolicy
import dev.trackgate.Gate
import dev.trackgate.GateOptions
import dev.trackgate.Trackgate
import dev.trackgate.TrustedKey
import dev.trackgate.samplingIsKept
import java.lang.management.ManagementFactory
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/*
 * Per-event cost of crossing from Kotlin into the trackgate library, JMH style: every case runs
 * in its own fresh JVM ("fork"), warms up, then measures fixed-time iterations; the parent
 * prints the median (and range) over all forks' measured iterations, in nanoseconds per event,
 * and the bytes the JVM allocated per event. Not a test: run it with bindings/kotlin/bench.sh.
 *
 * System properties: bench.envelope, bench.publicKey (a plan and its key, from bench.sh),
 * bench.forks (3), bench.warmups (3), bench.iterations (5), bench.iterationMillis (1000),
 * bench.batch (1000), bench.cases (comma-separated subset of the names below).
 */

private const val EVENTS = 50

private val names = List(EVENTS) { "bench.event_%02d".format(it) }

/** Valid names the bench plan does not register (it keeps none: the plan drops unregistered names). */
private val unregisteredNames = List(EVENTS) { "bench.unregistered_%02d".format(it) }

/**
 * One measured case: `setUp` once per fork, then `run` repeatedly; `run` returns events decided.
 * A paced case times each call alone and pauses [PACE_NANOS] between calls (untimed), as an app
 * calls now and then rather than in a tight loop.
 */
private class Case(
    val name: String,
    val description: String,
    val paced: Boolean = false,
    val setUp: (Fixture) -> (() -> Int),
)

/** Pause between the calls of a paced case: 500 µs, about 2,000 calls a second. */
private const val PACE_NANOS = 500_000L

private class Fixture(val trackgate: Trackgate, val batch: Int) {
    val gate: Gate get() = trackgate.gate
    var sink = 0L

    fun consume(decision: Decision) {
        sink += if (decision is Decision.Keep) 1 else 2
    }
}

/** JNA's own floor: a direct-mapped libc call with no structures, for comparison with UniFFI's. */
private object LibC {
    init {
        com.sun.jna.Native.register(LibC::class.java, "c")
    }

    @JvmStatic
    external fun labs(value: Long): Long
}

private val cases = listOf(
    Case("jna-direct", "labs(long) from libc, JNA direct mapping: JNA's own floor, no UniFFI") { fixture ->
        var value = 0L
        fun(): Int {
            fixture.sink += LibC.labs(value--)
            return 1
        }
    },
    Case("jna-floor", "samplingIsKept(u64, u32): the cheapest exported call, no handle, no buffers") { fixture ->
        var value = 0uL
        fun(): Int {
            if (samplingIsKept(value++, 500_000u)) fixture.sink++
            return 1
        }
    },
    Case("decide-name", "gate.decide(name, size): one event by name per crossing") { fixture ->
        var next = 0
        fun(): Int {
            fixture.consume(fixture.gate.decide(names[next], 100u))
            next = (next + 1) % EVENTS
            return 1
        }
    },
    Case("decide-id", "gate.decideId(id, size): one event by pre-resolved id per crossing") { fixture ->
        val ids = names.map { fixture.gate.resolve(it) }
        var next = 0
        fun(): Int {
            fixture.consume(fixture.gate.decideId(ids[next], 100u))
            next = (next + 1) % EVENTS
            return 1
        }
    },
    Case("track", "trackgate.track(name, size) of remembered names: the wrapper, name cache then the scalar id path") { fixture ->
        var next = 0
        fun(): Int {
            fixture.consume(fixture.trackgate.track(names[next], 100))
            next = (next + 1) % EVENTS
            return 1
        }
    },
    Case("track-first-seen", "trackgate.track(name, size) of a name the wrapper has not seen: routes forgotten before each call") {
            fixture ->
        var next = 0
        fun(): Int {
            fixture.trackgate.forgetRoutes()
            fixture.consume(fixture.trackgate.track(names[next], 100))
            next = (next + 1) % EVENTS
            return 1
        }
    },
    Case("track-unregistered", "trackgate.track(name, size) of names the plan does not register: decided by name") { fixture ->
        var next = 0
        fun(): Int {
            fixture.consume(fixture.trackgate.track(unregisteredNames[next], 100))
            next = (next + 1) % EVENTS
            return 1
        }
    },
    Case("track-paced", "trackgate.track(name, size), one call every 0.5 ms, each call timed alone", paced = true) {
            fixture ->
        var next = 0
        fun(): Int {
            fixture.consume(fixture.trackgate.track(names[next], 100))
            next = (next + 1) % EVENTS
            return 1
        }
    },
    Case("trackAll", "trackgate.trackAll(names, sizes): the wrapper's batch, cache then decideIds") { fixture ->
        val batchNames = List(fixture.batch) { names[it % EVENTS] }
        val sizes = LongArray(fixture.batch) { 100 }
        fun(): Int {
            fixture.sink += fixture.trackgate.trackAll(batchNames, sizes).keptCount
            return fixture.batch
        }
    },
    Case("decideBatch", "gate.decideBatch(names, sizes): names as List<String>") { fixture ->
        val batchNames = List(fixture.batch) { names[it % EVENTS] }
        val sizes = List(fixture.batch) { 100uL }
        fun(): Int {
            fixture.sink += fixture.gate.decideBatch(batchNames, sizes).codes.size
            return fixture.batch
        }
    },
    Case("decideIds", "gate.decideIds(ids, sizes): ids as List<ULong>") { fixture ->
        val ids = List(fixture.batch) { fixture.gate.resolve(names[it % EVENTS]) }
        val sizes = List(fixture.batch) { 100uL }
        fun(): Int {
            fixture.sink += fixture.gate.decideIds(ids, sizes).codes.size
            return fixture.batch
        }
    },
    Case("decideIdsPacked", "gate.decideIdsPacked(ids, sizes): ids and sizes as little-endian bytes") { fixture ->
        val ids = List(fixture.batch) { fixture.gate.resolve(names[it % EVENTS]) }
        val idBytes = ByteArray(8 * fixture.batch)
        val sizeBytes = ByteArray(8 * fixture.batch)
        fun(): Int {
            val idBuffer = ByteBuffer.wrap(idBytes).order(ByteOrder.LITTLE_ENDIAN)
            val sizeBuffer = ByteBuffer.wrap(sizeBytes).order(ByteOrder.LITTLE_ENDIAN)
            for (id in ids) {
                idBuffer.putLong(id.toLong())
                sizeBuffer.putLong(100)
            }
            fixture.sink += fixture.gate.decideIdsPacked(idBytes, sizeBytes).codes.size
            return fixture.batch
        }
    },
)

private fun property(name: String, default: String): String = System.getProperty("bench.$name") ?: default

private fun fixture(batch: Int): Fixture {
    val envelope = Files.readAllBytes(Path.of(property("envelope", "")))
    val publicKey = Files.readString(Path.of(property("publicKey", "")))
    val store = Files.createTempDirectory("trackgate-bench")
    val gate = Gate(
        GateOptions(
            app = "bench", env = "prod", trustedKeys = listOf(TrustedKey.Hex(publicKey)),
            storeDirectory = store.toString(), failPolicy = FailPolicy.KEEP_ALL, unitId = "bench-unit",
        ),
    )
    check(gate.applyPlan(envelope) is ApplyOutcome.Installed) { "the bench plan did not install" }
    return Fixture(Trackgate(gate), batch)
}

private fun allocatedBytes(): Long =
    (ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean).currentThreadAllocatedBytes

/** Runs in a forked JVM: prints one `RESULT case phase nsPerEvent bytesPerEvent` line per iteration. */
private fun runFork(caseName: String) {
    val case = cases.single { it.name == caseName }
    val fixture = fixture(property("batch", "1000").toInt())
    val run = case.setUp(fixture)
    val iterationNanos = TimeUnit.MILLISECONDS.toNanos(property("iterationMillis", "1000").toLong())
    val phases = List(property("warmups", "3").toInt()) { "warmup" } + List(property("iterations", "5").toInt()) { "measure" }
    for (phase in phases) {
        var events = 0L
        val bytesBefore = allocatedBytes()
        val start = System.nanoTime()
        var elapsed: Long
        var timed = 0L
        do {
            if (case.paced) {
                val before = System.nanoTime()
                events += run()
                timed += System.nanoTime() - before
                java.util.concurrent.locks.LockSupport.parkNanos(PACE_NANOS)
            } else {
                repeat(16) { events += run() }
            }
            elapsed = System.nanoTime() - start
        } while (elapsed < iterationNanos)
        val bytes = allocatedBytes() - bytesBefore
        val nanos = if (case.paced) timed else elapsed
        println("RESULT ${case.name} $phase ${nanos.toDouble() / events} ${bytes.toDouble() / events}")
    }
    println("SINK ${fixture.sink}") // keeps results observable
    fixture.trackgate.close()
}

private fun median(values: List<Double>): Double = values.sorted().let { sorted ->
    if (sorted.size % 2 == 1) sorted[sorted.size / 2] else (sorted[sorted.size / 2 - 1] + sorted[sorted.size / 2]) / 2
}

private fun format(nanos: Double): String = if (nanos >= 100) "%.0f".format(nanos) else "%.1f".format(nanos)

/** The parent: forks every case, collects the measured iterations and prints the table. */
fun main(args: Array<String>) {
    if (args.size == 2 && args[0] == "--fork") return runFork(args[1])
    val forks = property("forks", "3").toInt()
    val selected = property("cases", cases.joinToString(",") { it.name }).split(',').map(String::trim)
    val java = ProcessHandle.current().info().command().orElse("java")
    val jvmArgs = ManagementFactory.getRuntimeMXBean().inputArguments.filter { it.startsWith("-D") || it.startsWith("-X") }
    println("| case | ns/event, median | range | bytes allocated/event | what crosses |")
    println("|---|---|---|---|---|")
    for (case in cases.filter { it.name in selected }) {
        val nanos = mutableListOf<Double>()
        val bytes = mutableListOf<Double>()
        repeat(forks) {
            val command = listOf(java) + jvmArgs + listOf("-cp", System.getProperty("java.class.path"),
                "dev.trackgate.bench.CallCostBench", "--fork", case.name)
            val process = ProcessBuilder(command).redirectErrorStream(true).start()
            val output = process.inputStream.bufferedReader().readLines()
            check(process.waitFor() == 0) { "fork of ${case.name} failed:\n${output.joinToString("\n")}" }
            output.filter { it.startsWith("RESULT ") && it.split(' ')[2] == "measure" }.forEach { line ->
                val fields = line.split(' ')
                nanos += fields[3].toDouble()
                bytes += fields[4].toDouble()
            }
        }
        val batch = if (case.name in setOf("trackAll", "decideBatch", "decideIds", "decideIdsPacked")) {
            " (${property("batch", "1000")} events per crossing)"
        } else {
            ""
        }
        println(
            "| `${case.name}` | ${format(median(nanos))} | ${format(nanos.min())}–${format(nanos.max())} | " +
                "${"%.0f".format(median(bytes))} | ${case.description}$batch |",
        )
    }
    println()
    println("${forks} forks × ${property("iterations", "5")} iterations of ${property("iterationMillis", "1000")} ms after ${property("warmups", "3")} warm-up iterations; median over all measured iterations.")
}
