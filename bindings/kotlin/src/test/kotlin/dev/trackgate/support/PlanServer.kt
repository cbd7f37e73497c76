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

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }
}
