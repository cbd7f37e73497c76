package dev.trackgate.support

import dev.trackgate.Decision
import dev.trackgate.Gate
import dev.trackgate.GateException
import dev.trackgate.GateOptions
import java.util.concurrent.atomic.AtomicInteger

/**
 * A real gate that counts the generated calls a wrapper makes. Unless [scalar], it offers no
 * scalar token, so the wrapper decides through the generated calls, where they are counted;
 * with [scalar], every generated decision call it counts is one the scalar path failed to avoid.
 */
open class CountingGate(options: GateOptions, private val scalar: Boolean = false) : Gate(options) {
    val resolves = AtomicInteger()
    val byId = AtomicInteger()
    val byName = AtomicInteger()
    val stale = AtomicInteger()

    override fun scalarToken(): ULong? = if (scalar) super.scalarToken() else null
    override fun resolve(name: String): ULong = resolves.incrementAndGet().let { super.resolve(name) }
    override fun decide(name: String, sizeBytes: ULong): Decision =
        byName.incrementAndGet().let { super.decide(name, sizeBytes) }
    override fun decideId(id: ULong, sizeBytes: ULong): Decision {
        byId.incrementAndGet()
        try {
            return super.decideId(id, sizeBytes)
        } catch (error: GateException.StaleEventId) {
            stale.incrementAndGet()
            throw error
        }
    }

    /** Generated decision and resolve calls made so far. */
    val generatedCalls: Int get() = resolves.get() + byId.get() + byName.get()
}
