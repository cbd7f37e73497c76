package dev.trackgate

import com.sun.jna.Native

/**
 * The scalar fast path: `trackgate_decide_id_scalar`, a C function of the same native library
 * that takes and returns only numbers, bound with JNA direct mapping.
 *
 * A generated call such as [Gate.decideId] builds a JNA call-status structure and a buffer per
 * call, which costs tens of microseconds; a direct-mapped call with primitive arguments costs a
 * fraction of one. [Trackgate.track] uses this for names it has already resolved. The function
 * decides exactly as [Gate.decideId] (same engine call, same counting); see its Rust docs for
 * the encoding, decoded here by [Trackgate].
 *
 * If the function cannot be bound (an older library, an unusual platform), [available] is
 * false and [Trackgate] keeps using the generated calls: nothing changes but the cost.
 */
internal object ScalarPath {
    /** Kept: a weight of at least 1.0. Below zero: `-code` of the drop reason, or these. */
    const val STALE: Double = -255.0
    const val UNKNOWN_TOKEN: Double = -254.0

    /** Whether [trackgate_decide_id_scalar] is bound. */
    val available: Boolean = try {
        // The same library name the generated bindings load (and the same override property).
        val library = System.getProperty("uniffi.component.trackgate_ffi.libraryOverride") ?: "trackgate_ffi"
        Native.register(ScalarPath::class.java, library)
        true
    } catch (unavailable: UnsatisfiedLinkError) {
        false
    } catch (unavailable: IllegalArgumentException) {
        false
    }

    /** Decides event [id] of the gate holding [token]; see the Rust function's docs. */
    @Suppress("FunctionName")
    external fun trackgate_decide_id_scalar(token: Long, id: Long, sizeBytes: Long): Double
}
