package dev.trackgate

import java.io.ByteArrayOutputStream
import java.io.InputStream
import java.net.ConnectException
import java.net.HttpURLConnection
import java.net.NoRouteToHostException
import java.net.SocketTimeoutException
import java.net.URI
import java.net.UnknownHostException
import javax.net.ssl.SSLException

/**
 * An [HttpTransport] on the JDK's [HttpURLConnection] (also present on Android), for apps
 * without an HTTP client of their own; apps with OkHttp or Ktor should implement
 * [HttpTransport] on those instead, the same way.
 *
 * What it guarantees the gate (the [HttpTransport] contract):
 * - every HTTP status is returned as an [HttpResponse] (304, 404, 429, 503 included); only
 *   failures to get an answer throw, always as a [TransportException]:
 *   [TransportException.Connect] (refused, unknown host, TLS), [TransportException.Timeout]
 *   (connect, read or whole-request deadline), [TransportException.BodyTooLarge] (the body, or
 *   its announced `Content-Length`, exceeds [HttpRequest.bodyLimit]) and
 *   [TransportException.Protocol] (anything else, including a URL that is not http(s));
 * - the body is read in chunks and abandoned as soon as it passes the limit, never buffered
 *   whole first;
 * - the request's headers are sent as given (`Accept`, `If-None-Match`); the JDK's response
 *   cache is bypassed so a 304 reaches the gate as a 304;
 * - redirects are followed only within the same scheme (the JDK never follows http ↔ https);
 * - it is stateless and safe to call from any thread.
 *
 * @property connectTimeoutMillis Longest wait for the TCP/TLS connection.
 * @property readTimeoutMillis Longest wait for any single read.
 * @property totalTimeoutMillis Deadline for the whole request, checked between reads (so a
 *   server dripping bytes cannot hold the fetch for longer than this plus one read timeout).
 * @property userAgent Sent as `User-Agent` unless the request names one; null sends the JDK's.
 */
public class HttpURLConnectionTransport(
    public val connectTimeoutMillis: Int = 10_000,
    public val readTimeoutMillis: Int = 20_000,
    public val totalTimeoutMillis: Long = 60_000,
    public val userAgent: String? = "trackgate-kotlin",
) : HttpTransport {
    init {
        require(connectTimeoutMillis > 0) { "connectTimeoutMillis must be > 0" }
        require(readTimeoutMillis > 0) { "readTimeoutMillis must be > 0" }
        require(totalTimeoutMillis > 0) { "totalTimeoutMillis must be > 0" }
    }

    /**
     * Performs the GET and returns the server's answer, whatever its status.
     *
     * @throws TransportException when no complete answer could be obtained.
     */
    override fun get(request: HttpRequest): HttpResponse {
        val deadline = System.nanoTime() + totalTimeoutMillis * 1_000_000
        val limit = request.bodyLimit.coerceAtMost(MAX_ARRAY_BYTES.toULong()).toLong()
        val connection = open(request.url)
        try {
            connection.requestMethod = "GET"
            connection.connectTimeout = connectTimeoutMillis
            connection.readTimeout = readTimeoutMillis
            connection.useCaches = false
            connection.instanceFollowRedirects = true
            userAgent?.let { connection.setRequestProperty("User-Agent", it) }
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)

            val status = connection.responseCode
            if (status < 0) throw TransportException.Protocol("${request.url}: the answer is not HTTP")
            val headers = connection.headerFields.flatMap { (name, values) ->
                if (name == null) emptyList() else values.map { HttpHeader(name, it) }
            }
            val announced = connection.contentLengthLong
            if (announced > limit) {
                throw TransportException.BodyTooLarge(
                    "${request.url}: Content-Length $announced is over the limit of $limit bytes",
                )
            }
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { readCapped(it, limit, deadline, request.url) } ?: ByteArray(0)
            return HttpResponse(status.toUShort(), headers, body)
        } catch (error: TransportException) {
            connection.disconnect()
            throw error
        } catch (error: Exception) {
            connection.disconnect()
            throw classify(error, request.url)
        }
    }

    private fun open(url: String): HttpURLConnection {
        val parsed = try {
            URI(url).toURL()
        } catch (error: Exception) {
            throw TransportException.Protocol("invalid URL $url: ${error.message}")
        }
        if (parsed.protocol != "http" && parsed.protocol != "https") {
            throw TransportException.Protocol("unsupported scheme in $url: only http and https")
        }
        return parsed.openConnection() as HttpURLConnection
    }

    private fun readCapped(stream: InputStream, limit: Long, deadline: Long, url: String): ByteArray {
        val out = ByteArrayOutputStream()
        val chunk = ByteArray(CHUNK_BYTES)
        while (true) {
            val read = stream.read(chunk)
            if (read < 0) return out.toByteArray()
            if (out.size().toLong() + read > limit) {
                throw TransportException.BodyTooLarge("$url: body is over the limit of $limit bytes")
            }
            out.write(chunk, 0, read)
            if (System.nanoTime() > deadline) {
                throw TransportException.Timeout("$url: no complete answer within $totalTimeoutMillis ms")
            }
        }
    }

    private fun classify(error: Exception, url: String): TransportException {
        val what = "$url: ${error.javaClass.simpleName}: ${error.message}"
        return when (error) {
            is SocketTimeoutException -> TransportException.Timeout(what)
            is ConnectException, is UnknownHostException, is NoRouteToHostException, is SSLException ->
                TransportException.Connect(what)
            else -> TransportException.Protocol(what)
        }
    }

    private companion object {
        const val CHUNK_BYTES = 16 * 1024

        /** Largest array the JVM reliably allocates. */
        const val MAX_ARRAY_BYTES = Int.MAX_VALUE - 16
    }
}
