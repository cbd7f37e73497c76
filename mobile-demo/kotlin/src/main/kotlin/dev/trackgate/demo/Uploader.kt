package dev.trackgate.demo

import java.io.IOException
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.util.Base64

/**
 * Sends what the gate kept, and its drop reports, to the collector (`POST /v1/collect` on
 * `trackgate serve --collect FILE`). A body that cannot be sent goes to an outbox file in the
 * store and is sent first next time, as an app retries after being offline.
 *
 * @param collectUrl The collector's URL.
 * @param outbox The outbox file: one line per body, `<content type> <base64>`.
 */
class Uploader(private val collectUrl: String, private val outbox: Path) {
    /** One upload body. */
    data class Body(val contentType: String, val bytes: ByteArray) {
        companion object {
            /** Kept events, one JSON object per line. */
            fun ndjson(bytes: ByteArray) = Body("application/x-ndjson", bytes)

            /** One JSON document (the drop report, byte for byte as the library encoded it). */
            fun json(bytes: ByteArray) = Body("application/json", bytes)
        }
    }

    /** What one [send] achieved: items the collector accepted now, and bodies left queued. */
    data class Sent(val collected: Int, val queued: Int)

    /** Sends the queued bodies, then [body], in order; whatever could not be sent is queued. */
    fun send(body: Body): Sent {
        val pending = loadOutbox() + body
        var collected = 0
        val unsent = mutableListOf<Body>()
        for (item in pending) {
            // Keep the order: once one fails (server down), queue the rest without trying.
            val accepted = if (unsent.isEmpty()) post(item) else null
            if (accepted != null) collected += accepted else unsent += item
        }
        saveOutbox(unsent)
        return Sent(collected, unsent.size)
    }

    /** POSTs one body: the number of items collected, or null if it was not accepted. */
    private fun post(body: Body): Int? {
        val connection = URI(collectUrl).toURL().openConnection() as HttpURLConnection
        return try {
            connection.requestMethod = "POST"
            connection.connectTimeout = 10_000
            connection.readTimeout = 30_000
            connection.doOutput = true
            connection.setRequestProperty("Content-Type", body.contentType)
            connection.setFixedLengthStreamingMode(body.bytes.size)
            connection.outputStream.use { it.write(body.bytes) }
            val status = connection.responseCode
            if (status in 200..299) {
                connection.getHeaderField("X-Trackgate-Collected")?.toIntOrNull() ?: 0
            } else {
                val why = connection.errorStream?.use { it.readBytes().decodeToString().trim() } ?: ""
                log("upload refused: HTTP $status from $collectUrl: $why")
                null
            }
        } catch (error: IOException) {
            log("upload failed: ${error.message}; queued for the next upload")
            null
        } finally {
            connection.disconnect()
        }
    }

    private fun loadOutbox(): List<Body> {
        if (!Files.exists(outbox)) return emptyList()
        return Files.readAllLines(outbox).mapNotNull { line ->
            val parts = line.split(' ', limit = 2)
            if (parts.size != 2) return@mapNotNull null
            val bytes = runCatching { Base64.getDecoder().decode(parts[1]) }.getOrNull() ?: return@mapNotNull null
            Body(parts[0], bytes)
        }
    }

    private fun saveOutbox(bodies: List<Body>) {
        if (bodies.isEmpty()) {
            Files.deleteIfExists(outbox)
            return
        }
        val text = bodies.joinToString("") { "${it.contentType} ${Base64.getEncoder().encodeToString(it.bytes)}\n" }
        try {
            val staged = outbox.resolveSibling("${outbox.fileName}.tmp")
            Files.writeString(staged, text)
            Files.move(staged, outbox, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
        } catch (error: IOException) {
            log("cannot write the outbox $outbox: ${error.message}")
        }
    }
}
