package dev.trackgate.demo

import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive

/**
 * One analytics event as the app records it, before the gate decides it.
 *
 * @property event The event name the gate decides on.
 * @property properties The event's own fields.
 */
class AnalyticsEvent(
    val event: String,
    private val installId: String,
    private val phase: Int,
    private val seq: Int,
    private val timestampMs: Long,
    private val properties: Map<String, String>,
) {
    /** The encoded payload as the app would upload it (keys sorted); its length is the size the gate checks. */
    val payload: JsonObject = JsonObject(
        sortedMapOf(
            "event" to JsonPrimitive(event),
            "install_id" to JsonPrimitive(installId),
            "phase" to JsonPrimitive(phase),
            "platform" to JsonPrimitive("kotlin"),
            "properties" to JsonObject(properties.toSortedMap().mapValues { JsonPrimitive(it.value) }),
            "seq" to JsonPrimitive(seq),
            "ts_ms" to JsonPrimitive(timestampMs),
        ),
    )

    /** [payload]'s encoded size in bytes. */
    val sizeBytes: Long = payload.toString().toByteArray(Charsets.UTF_8).size.toLong()
}

/**
 * A simulated user session: what a shopping app's analytics code records while someone
 * browses, searches, uploads a review photo and (sometimes) checks out. Deterministic: the same
 * phase gives the same events on every run, and the same sequence as the Swift demo's session
 * (same generator, same draws), so the two platforms' outputs can be compared.
 *
 * Besides the catalog's registered names, the session sends an unregistered name
 * (`debug.trace`) and an invalid one (`Promo Clicked`), as real apps do by mistake.
 */
class Session(private val phase: Int, private val installId: String) {
    /** The session's events, the first recorded at [clockMs] and one every 750 ms after. */
    fun events(clockMs: Long): List<AnalyticsEvent> {
        val random = SplitMix64(phase.toULong() * 0x9E3779B97F4A7C15uL)
        val recorded = mutableListOf<AnalyticsEvent>()
        fun record(name: String, vararg properties: Pair<String, String>) {
            recorded += AnalyticsEvent(
                name, installId, phase, recorded.size, clockMs + recorded.size * 750L, properties.toMap(),
            )
        }

        record("app.opened", "cold_start" to (phase == 1).toString())
        val screens = listOf("home", "search", "product", "cart", "profile")
        for (step in 0 until 36) {
            record("screen.viewed", "screen" to screens[random.below(screens.size)])
            when (random.below(10)) {
                0, 1 -> record("search.typed", "query" to "q".repeat(1 + random.below(12)))
                2, 3 -> {
                    record("product.viewed", "product_id" to "p-${random.below(500)}")
                    record("scroll.depth", "percent" to (25 * (1 + random.below(4))).toString())
                }
                4 -> {
                    val product = "p-${random.below(500)}"
                    record("cart.added", "product_id" to product, "quantity" to (1 + random.below(3)).toString())
                }
                // A review photo: its inline thumbnail makes some uploads large.
                5 -> record("photo.uploaded", "thumbnail" to "A".repeat(200 + random.below(1600)))
                6 -> record("legacy.banner_seen", "slot" to "top")
                7 -> record("debug.trace", "step" to step.toString())
                8 -> record("Promo Clicked", "campaign" to "autumn")
                else -> {
                    record("checkout.started", "items" to (1 + random.below(4)).toString())
                    if (random.below(2) == 0) {
                        val order = "o-$phase-$step"
                        record("checkout.completed", "order_id" to order, "total_cents" to random.below(20_000).toString())
                    }
                }
            }
        }
        return recorded
    }
}

/** SplitMix64: a tiny deterministic generator for the simulation (sampling belongs to the gate). */
class SplitMix64(private var state: ULong) {
    /** The next 64 random bits. */
    fun next(): ULong {
        state += 0x9E3779B97F4A7C15uL
        var mixed = state
        mixed = (mixed xor (mixed shr 30)) * 0xBF58476D1CE4E5B9uL
        mixed = (mixed xor (mixed shr 27)) * 0x94D049BB133111EBuL
        return mixed xor (mixed shr 31)
    }

    /** A value in `0 until bound`. */
    fun below(bound: Int): Int = (next() % bound.toULong()).toInt()
}
