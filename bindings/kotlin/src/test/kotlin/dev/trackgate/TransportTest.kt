package dev.trackgate

import com.sun.net.httpserver.HttpServer
import dev.trackgate.support.PlanServer
import dev.trackgate.support.Publisher
import dev.trackgate.support.options
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.ConcurrentHashMap

/**
 * [HttpURLConnectionTransport] against a real `trackgate serve` on 127.0.0.1 (and, where the
 * server must misbehave on purpose, small JDK servers), and the gate fetching through it.
 */
class TransportTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var publisher: Publisher
    private lateinit var server: PlanServer
    private lateinit var envelope: ByteArray
    private val closeAfter = mutableListOf<AutoCloseable>()

    @BeforeEach
    fun serve() {
        publisher = Publisher(dir.resolve("publisher"))
        val plans = Files.createDirectories(dir.resolve("plans"))
        server = PlanServer(plans)
        envelope = publisher.sealStandard(1)
        server.publish("shop-1.tgplan", envelope)
    }

    @AfterEach
    fun stop() {
        closeAfter.forEach { it.close() }
        server.close()
    }

    private val transport = HttpURLConnectionTransport(connectTimeoutMillis = 2_000, readTimeoutMillis = 2_000)

    private fun request(url: String, vararg headers: Pair<String, String>, bodyLimit: ULong = 8uL shl 20) =
        HttpRequest(url, headers.map { HttpHeader(it.first, it.second) }, bodyLimit)

    private fun HttpResponse.header(name: String): String? =
        headers.firstOrNull { it.name.equals(name, ignoreCase = true) }?.value

    /** A JDK server on a free loopback port answering [path] with [handler]; closed after the test. */
    private fun jdkServer(handler: (com.sun.net.httpserver.HttpExchange) -> Unit): String {
        val http = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0)
        http.createContext("/") { exchange -> exchange.use { handler(it) } }
        http.start()
        closeAfter += AutoCloseable { http.stop(0) }
        return "http://127.0.0.1:${http.address.port}/plan"
    }

    @Test
    fun `a 200 returns the envelope and the server's headers`() {
        val response = transport.get(request(server.planUrl, "Accept" to "application/vnd.trackgate.plan"))
        assertEquals(200.toUShort(), response.status)
        assertArrayEquals(envelope, response.body)
        assertTrue(response.header("ETag")!!.startsWith("\""), "strong ETag: ${response.header("ETag")}")
        assertEquals("max-age=900", response.header("Cache-Control"))
        assertEquals("application/vnd.trackgate.plan", response.header("Content-Type"))
    }

    @Test
    fun `If-None-Match with the current ETag gets a 304 with no body`() {
        val etag = transport.get(request(server.planUrl)).header("ETag")!!
        val before = server.requestsWith(304).size
        val response = transport.get(request(server.planUrl, "If-None-Match" to etag))
        assertEquals(304.toUShort(), response.status)
        assertEquals(0, response.body.size)
        assertEquals(before + 1, server.awaitRequestsWith(304, before + 1).size, "the server saw a conditional request")
    }

    @Test
    fun `request headers are sent exactly as the gate gives them`() {
        val seen = ConcurrentHashMap<String, String>()
        val url = jdkServer { exchange ->
            exchange.requestHeaders.forEach { (name, values) -> seen[name.lowercase()] = values.joinToString(",") }
            exchange.sendResponseHeaders(304, -1)
        }
        transport.get(request(url, "Accept" to "application/vnd.trackgate.plan", "If-None-Match" to "\"abc\""))
        assertEquals("application/vnd.trackgate.plan", seen["accept"])
        assertEquals("\"abc\"", seen["if-none-match"])
        assertEquals("trackgate-kotlin", seen["user-agent"])
    }

    @Test
    fun `error statuses are answers, not exceptions`() {
        val response = transport.get(request("${server.baseUrl}/v1/plans/shop/staging"))
        assertEquals(404.toUShort(), response.status)
        assertEquals("no plan for this app and env\n", response.body.decodeToString())
    }

    @Test
    fun `a body over the limit is BodyTooLarge, announced or streamed`() {
        val announced = assertThrows(TransportException.BodyTooLarge::class.java) {
            transport.get(request(server.planUrl, bodyLimit = (envelope.size - 1).toULong()))
        }
        assertTrue(announced.reason.contains("Content-Length ${envelope.size}"), announced.reason)
        assertEquals(envelope.size, transport.get(request(server.planUrl, bodyLimit = envelope.size.toULong())).body.size)

        val chunked = jdkServer { exchange ->
            exchange.sendResponseHeaders(200, 0) // 0: chunked, no Content-Length
            exchange.responseBody.write(ByteArray(100_000))
        }
        val streamed = assertThrows(TransportException.BodyTooLarge::class.java) {
            transport.get(request(chunked, bodyLimit = 50_000u))
        }
        assertTrue(streamed.reason.contains("over the limit of 50000 bytes"), streamed.reason)
    }

    @Test
    fun `no listener is Connect, a silent server is Timeout, other schemes and garbage are Protocol`() {
        val closedPort = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        assertThrows(TransportException.Connect::class.java) { transport.get(request("http://127.0.0.1:$closedPort/")) }

        ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { silent ->
            val quick = HttpURLConnectionTransport(connectTimeoutMillis = 1_000, readTimeoutMillis = 300)
            val error = assertThrows(TransportException.Timeout::class.java) {
                quick.get(request("http://127.0.0.1:${silent.localPort}/"))
            }
            assertTrue(error.reason.contains("127.0.0.1:${silent.localPort}"), error.reason)
        }

        assertThrows(TransportException.Protocol::class.java) { transport.get(request("ftp://127.0.0.1/plan")) }
        assertThrows(TransportException.Protocol::class.java) { transport.get(request("not a url")) }

        ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { liar ->
            val answer = Thread {
                liar.accept().use { socket ->
                    socket.getInputStream().read(ByteArray(4096))
                    socket.getOutputStream().write("SSH-2.0-not-http\r\n\r\n".toByteArray())
                }
            }.apply { start() }
            assertThrows(TransportException.Protocol::class.java) { transport.get(request("http://127.0.0.1:${liar.localPort}/")) }
            answer.join(5_000)
        }
    }

    @Test
    fun `the gate fetches and installs the served plan through the transport`() {
        val options = options(publisher, dir.resolve("store"), transport = transport, planUrl = server.planUrl)
        Trackgate.open(options).use { trackgate ->
            assertEquals(PlanSource.FAIL_POLICY, trackgate.status().source)
            assertEquals(FetchResult.Installed(1u), trackgate.refreshNow())
            val status = trackgate.status()
            assertEquals(PlanSource.NETWORK, status.source)
            assertEquals(1uL, status.version)
            assertTrue(status.lastSuccessUnix != null && status.lastError == null, "$status")
            assertEquals(Decision.Drop(DropReason.RETIRED), trackgate.track("legacy.banner_seen", 1))
            // The schedule allows the next request only later (a minute for refreshNow, 15 for
            // onForeground, the refresh interval for fetchIfDue): no second request now.
            server.awaitQuietLog()
            val requests = server.log.count { it.startsWith("GET /v1/plans/") }
            assertTrue(trackgate.refreshNow() is FetchResult.NotDue)
            assertTrue(trackgate.onForeground() is FetchResult.NotDue)
            val due = trackgate.fetchIfDue() as FetchResult.NotDue
            assertTrue(due.nextFetchUnix.toLong() > System.currentTimeMillis() / 1000, "due later: $due")
            server.awaitQuietLog()
            assertEquals(requests, server.log.count { it.startsWith("GET /v1/plans/") })
        }
    }

    @Test
    fun `transport failures reach the gate as Failed fetches that back off`() {
        val failures = listOf(
            TransportException.Timeout("slow network") to "Timeout: slow network",
            IllegalStateException("bug in the app's client") to "unexpected exception",
        )
        for ((index, failure) in failures.withIndex()) {
            val throwing = object : HttpTransport {
                override fun get(request: HttpRequest): HttpResponse = throw failure.first
            }
            val options = options(publisher, dir.resolve("store-$index"), transport = throwing, planUrl = server.planUrl)
            Gate(options).use { gate ->
                val result = gate.refreshNow()
                assertTrue(result is FetchResult.Failed && result.reason.contains(failure.second), "$result")
                assertEquals(1u, gate.status().consecutiveFailures)
            }
        }
        val oversized = object : HttpTransport {
            override fun get(request: HttpRequest) =
                HttpResponse(200u, emptyList(), ByteArray(request.bodyLimit.toInt() + 1))
        }
        val options = options(publisher, dir.resolve("store-big"), transport = oversized, planUrl = server.planUrl)
        Gate(options).use { gate ->
            val result = gate.refreshNow()
            assertTrue(result is FetchResult.Failed && result.reason.contains("more than the limit"), "$result")
        }
    }
}
