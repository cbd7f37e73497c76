package dev.trackgate

import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import java.nio.ByteBuffer

/**
 * The scalar fast path: plain C functions of the same native library, bound with JNA direct
 * mapping, that take numbers (and a pointer to a name's UTF-8 bytes) and return one number:
 * `trackgate_decide_id_scalar`, `trackgate_decide_name_scalar` and `trackgate_resolve_scalar`.
 *
 * A generated call such as [Gate.decide] builds JNA call-status structures and buffers per
 * call, which costs tens of microseconds; a direct-mapped call with primitive arguments costs a
 * fraction of one. [Trackgate.track] decides every event through these. Each function makes the
 * same engine call as its generated twin ([Gate.decideId], [Gate.decide], [Gate.resolve]), so
 * decisions and counts are the same; see the Rust docs for the encoding, decoded by [decode].
 *
 * Names cross as UTF-8 in a native buffer owned by the calling thread (256 bytes, reused; a
 * longer name, which no plan can register, gets a buffer of its own), so deciding by name
 * allocates nothing on the Java heap for ASCII names. A string with unpaired surrogates, which
 * the generated calls refuse to encode, is encoded with `?` in their place: like every
 * non-ASCII name it is an invalid name, decided as such.
 *
 * If the functions cannot be bound (an older library, an unusual platform), [available] is
 * false and [Trackgate] keeps using the generated calls: nothing changes but the cost.
 */
internal object ScalarPath {
    /**
     * Kept: a weight of at least 1.0. Below zero: `-code` of the drop reason, or these (and
     * -254 for a token of no open gate, -253 for a caught panic, -252 for a bad name pointer:
     * nothing decided).
     */
    const val STALE: Double = -255.0

    /** The highest of the codes that decided nothing. */
    private const val UNDECIDED: Double = -252.0

    /** What [resolve] returns for a name with no id: decide it by name. No id is 0. */
    const val NO_ID: Long = 0

    /** Whether the C functions are bound. */
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

    @Suppress("FunctionName")
    private external fun trackgate_decide_name_scalar(token: Long, name: Pointer, nameLength: Long, sizeBytes: Long): Double

    @Suppress("FunctionName")
    private external fun trackgate_resolve_scalar(token: Long, name: Pointer, nameLength: Long): Long

    /** Decides [name] for the gate holding [token], as [Gate.decide]; encoded as the id call's result. */
    fun decideName(token: Long, name: String, sizeBytes: Long): Double {
        val buffer = buffers.get()
        val length = buffer.load(name)
        return trackgate_decide_name_scalar(token, buffer.pointer, length, sizeBytes)
    }

    /** The id of [name] in the active plan of the gate holding [token], or [NO_ID]. */
    fun resolve(token: Long, name: String): Long {
        val buffer = buffers.get()
        val length = buffer.load(name)
        return trackgate_resolve_scalar(token, buffer.pointer, length)
    }

    /**
     * The decision a scalar call returned, or null when it decided nothing for a reason the
     * generated calls report properly (a token of no open gate, a caught panic) or the id was
     * stale (the caller tells these apart by [STALE] first).
     */
    fun decode(encoded: Double): Decision? = when {
        encoded >= 0.0 -> Decision.Keep(encoded)
        encoded > UNDECIDED -> Decision.Drop(reasonOfCode((-encoded).toInt()))
        else -> null
    }

    private const val NAME_BUFFER_BYTES = 256

    /** One thread's native buffer for names. */
    private class NameBuffer {
        private val memory = Memory(NAME_BUFFER_BYTES.toLong())
        private val view: ByteBuffer = memory.getByteBuffer(0, NAME_BUFFER_BYTES.toLong())

        /** Where the bytes of the last [load]ed name are (kept reachable until the next load). */
        var pointer: Pointer = memory
            private set

        /** Puts [name]'s UTF-8 bytes at [pointer] and returns their count. */
        fun load(name: String): Long {
            val length = name.length
            if (length <= NAME_BUFFER_BYTES) {
                var index = 0
                while (index < length) {
                    val char = name[index].code
                    if (char >= 0x80) break
                    view.put(index, char.toByte())
                    index++
                }
                if (index == length) {
                    pointer = memory
                    return length.toLong()
                }
            }
            // Not ASCII (so an invalid name) or longer than the buffer: rare, allocation is fine.
            val utf8 = name.toByteArray(Charsets.UTF_8)
            pointer = if (utf8.size <= NAME_BUFFER_BYTES) memory else Memory(utf8.size.toLong())
            pointer.write(0, utf8, 0, utf8.size)
            return utf8.size.toLong()
        }
    }

    private val buffers: ThreadLocal<NameBuffer> = ThreadLocal.withInitial(::NameBuffer)
}
