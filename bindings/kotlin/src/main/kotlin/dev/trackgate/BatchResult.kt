package dev.trackgate

/** [BatchDecisions.codes] entry of a kept event. */
internal const val BATCH_CODE_KEEP: Byte = 0

/**
 * [BatchDecisions.codes] entry of an event id from a plan no longer active (255 as a signed
 * byte): not decided, not counted.
 */
internal const val BATCH_CODE_STALE: Byte = -1

/**
 * Drop reasons by batch code, filled once from the library's own [dropReasonCode], so the
 * numbering is defined in one place (Rust) and never copied here.
 */
private val REASONS_BY_CODE: Array<DropReason?> = arrayOfNulls<DropReason>(256).also { table ->
    for (reason in DropReason.entries) table[dropReasonCode(reason).toInt()] = reason
}

/** The drop reason of batch (and scalar) [code] 1..=254. */
internal fun reasonOfCode(code: Int): DropReason =
    checkNotNull(REASONS_BY_CODE[code and 0xFF]) { "unknown drop reason code $code" }

/**
 * The decisions of one [Trackgate.trackAll] call, in input order, read without allocating per
 * event (use [decision] when a [Decision] object is wanted).
 */
public class BatchResult internal constructor(
    private val codes: ByteArray,
    private val weights: DoubleArray,
) {
    /** Number of events decided. */
    public val size: Int get() = codes.size

    /** Number of events kept. */
    public val keptCount: Int get() = codes.count { it == BATCH_CODE_KEEP }

    /** Whether event [index] may leave the device. */
    public fun isKept(index: Int): Boolean = codes[index] == BATCH_CODE_KEEP

    /** The sampling weight to attach to kept event [index] (1.0 when not sampled); 0.0 if dropped. */
    public fun weight(index: Int): Double = weights[index]

    /** Why event [index] was dropped, or null if it was kept. */
    public fun reason(index: Int): DropReason? =
        if (isKept(index)) null else checkNotNull(REASONS_BY_CODE[codes[index].toInt() and 0xFF]) {
            "unknown batch code ${codes[index].toInt() and 0xFF} at index $index"
        }

    /** Event [index]'s decision as the same [Decision] that [Trackgate.track] returns. */
    public fun decision(index: Int): Decision =
        reason(index)?.let { Decision.Drop(it) } ?: Decision.Keep(weights[index])

    /** All decisions, in input order. */
    public fun decisions(): List<Decision> = List(size) { decision(it) }
}
