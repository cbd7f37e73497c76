package dev.trackgate.support

import java.nio.file.Files
import java.nio.file.Path
import java.util.Collections
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/**
 * A real `trackgate serve` on 127.0.0.1 serving the envelopes in [directory]. Port 0 lets the
 * OS pick a free port; the address is read from the server's own announcement. [close] stops
 * this process (by its own pid, never by name) and waits for it.
 */
class PlanServer(val directory: Path) : AutoCloseable {
    private val process: Process = ProcessBuilder(
        Cli.path, "serve", directory.toString(), "--addr", "127.0.0.1:0", "--poll-ms", "50",
    ).redirectErrorStream(true).start()

    /** Every line the server printed (requests are logged as `GET /path STATUS ...`). */
    val log: MutableList<String> = Collections.synchronizedList(mutableListOf<String>())

    /** `http://127.0.0.1:PORT`. */
    val baseUrl: String

    init {
        val announced = LinkedBlockingQueue<String>()
        Thread({
            process.inputStream.bufferedReader().forEachLine { line ->
                log.add(line)
                line.removePrefix("trackgate serve: listening on ").takeIf { it != line }?.let(announced::add)
            }
        }, "trackgate-serve-log").apply { isDaemon = true }.start()
        baseUrl = announced.poll(30, TimeUnit.SECONDS) ?: run {
            process.destroyForcibly()
            error("trackgate serve did not announce its address:\n${log.joinToString("\n")}")
        }
    }

    /** The plan URL of `shop/prod`. */
    val planUrl: String get() = "$baseUrl/v1/plans/$APP/$ENV"

    /** Publishes [envelope] as file [name] and waits until the server serves exactly it. */
    fun publish(name: String, envelope: ByteArray) {
        Files.write(directory.resolve(name), envelope)
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
        while (System.nanoTime() < deadline) {
            if (served().contentEquals(envelope)) return
            Thread.sleep(20)
        }
        error("trackgate serve never served $name:\n${log.joinToString("\n")}")
    }

    private fun served(): ByteArray? = try {
        val connection = java.net.URI(planUrl).toURL().openConnection() as java.net.HttpURLConnection
        connection.connectTimeout = 5_000
        connection.readTimeout = 5_000
        if (connection.responseCode == 200) connection.inputStream.use { it.readBytes() } else null
    } catch (error: java.io.IOException) {
        null
    }

    /** Log lines of requests with this status, e.g. `" 304 "`. */
    fun requestsWith(status: Int): List<String> =
        synchronized(log) { log.filter { it.startsWith("GET ") && it.contains(" $status ") } }

    /**
     * [requestsWith] once at least [count] such lines arrived (or 10 s passed): the server logs
     * a request after answering it, and this process reads the log on another thread, so a
     * line can lag the response the client already has.
     */
    fun awaitRequestsWith(status: Int, count: Int): List<String> {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
        while (requestsWith(status).size < count && System.nanoTime() < deadline) Thread.sleep(10)
        return requestsWith(status)
    }

    /**
     * Waits until no log line has arrived for [quietMillis] (at most 10 s), so every request
     * answered so far is in [log] (see [awaitRequestsWith] for why lines lag).
     */
    fun awaitQuietLog(quietMillis: Long = 300) {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
        var seen = log.size
        var quietSince = System.nanoTime()
        while (System.nanoTime() < deadline) {
            Thread.sleep(10)
            val now = log.size
            if (now != seen) {
                seen = now
                quietSince = System.nanoTime()
            } else if (System.nanoTime() - quietSince >= TimeUnit.MILLISECONDS.toNanos(quietMillis)) {
                return
            }
        }
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }
}
