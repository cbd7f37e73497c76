package dev.trackgate.flink;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One task's handle on the Rust library {@code trackgate-stream} (streaming/native): envelope
 * verification with the delivery crate's own checks, and the ETL crate's line filter, one call
 * per block of lines. No rule is implemented on the JVM; this class only moves bytes.
 *
 * <p>Calls go through JNA direct mapping. A handle is used by one thread at a time (its
 * operator's task thread) and must be {@link #close() closed}. Failures of the library are
 * {@link NativeStreamException}s carrying its message; a refused envelope is not a failure.
 */
public final class NativeStream implements AutoCloseable {
    static {
        Native.register(NativeStream.class, "trackgate_stream");
    }

    private static native Pointer tg_stream_new(byte[] config, long configLength, byte[] error, long errorCapacity);

    private static native void tg_stream_free(Pointer handle);

    private static native Pointer tg_stream_result(Pointer handle);

    private static native long tg_stream_result_length(Pointer handle);

    private static native long tg_stream_offer(Pointer handle, byte[] envelope, long length, long now, int restoring);

    private static native long tg_stream_filter(Pointer handle, ByteBuffer block, long length);

    private static native long tg_stream_take_stats(
            Pointer handle, byte[] window, long windowLength, byte[] input, long inputLength);

    private static native long tg_stream_has_counts(Pointer handle);

    private static native long tg_stream_merge_stats(
            Pointer handle, byte[] earlier, long earlierLength, byte[] later, long laterLength);

    /** Status: the result holds a message. */
    private static final long STATUS_ERROR = -1;
    /** Offer outcomes, as the library numbers them. */
    private static final long OFFER_INSTALLED = 0;
    private static final long OFFER_ALREADY_CURRENT = 1;
    /** Bytes before the kept lines' lengths in a packed block result (streaming/native/src/ffi.rs). */
    static final int BLOCK_HEADER_BYTES = 64;
    /** Kept-line buffers per block: P0..P3, then events without a priority. */
    public static final int DESTINATIONS = 5;

    /**
     * Measurement only ({@code streaming/flink/bench.sh}): with
     * {@code -Dtrackgate.measure-crossing=true} the time every handle of this JVM spends in
     * {@link #filter} (the JNA call, the Rust filter and the view of its result) is added up, so
     * the benchmark can tell the crossing's share of a task's time. Off by default; the JIT then
     * drops the timing.
     */
    static final boolean MEASURE_CROSSING = Boolean.getBoolean("trackgate.measure-crossing");
    private static final AtomicLong CROSSING_NANOS = new AtomicLong();

    private Pointer handle;
    /** Where a destination's kept lines are copied to be cut into records (grown, reused). */
    private byte[] scratch = new byte[0];

    private NativeStream(Pointer handle) {
        this.handle = handle;
    }

    /** A handle for the JSON configuration (see {@link JobConfig#nativeConfigJson()}). */
    public static NativeStream open(String configJson) {
        byte[] config = configJson.getBytes(StandardCharsets.UTF_8);
        byte[] error = new byte[1024];
        Pointer handle = tg_stream_new(config, config.length, error, error.length);
        if (handle == null) {
            int end = 0;
            while (end < error.length && error[end] != 0) {
                end++;
            }
            throw new NativeStreamException(new String(error, 0, end, StandardCharsets.UTF_8));
        }
        return new NativeStream(handle);
    }

    /** What became of an offered envelope. */
    public enum Outcome { INSTALLED, ALREADY_CURRENT, REFUSED }

    /** An offer's outcome and the library's JSON description of it (version or reason). */
    public record Offer(Outcome outcome, long version, String description) {}

    /**
     * Offers a signed envelope at {@code nowSeconds} (host clock). {@code restoring} marks the
     * job's own checkpointed envelope (every check but expiry).
     */
    public Offer offer(byte[] envelope, long nowSeconds, boolean restoring) {
        long status = tg_stream_offer(live(), envelope, envelope.length, nowSeconds, restoring ? 1 : 0);
        String description = resultText(check(status == STATUS_ERROR ? status : tg_stream_result_length(handle)));
        Outcome outcome = status == OFFER_INSTALLED ? Outcome.INSTALLED
                : status == OFFER_ALREADY_CURRENT ? Outcome.ALREADY_CURRENT : Outcome.REFUSED;
        return new Offer(outcome, jsonVersion(description), description);
    }

    /**
     * Filters {@code length} bytes of {@code block} from its position (a direct buffer of whole
     * {@code \n}-separated lines; JNA passes the address at the position). The returned view is valid until the next call on this handle.
     */
    public Block filter(ByteBuffer block, int length) {
        long started = MEASURE_CROSSING ? System.nanoTime() : 0;
        long status = check(tg_stream_filter(live(), block, length));
        ByteBuffer packed = tg_stream_result(handle).getByteBuffer(0, status).order(ByteOrder.LITTLE_ENDIAN);
        if (MEASURE_CROSSING) {
            CROSSING_NANOS.addAndGet(System.nanoTime() - started);
        }
        return new Block(packed, this);
    }

    /**
     * Nanoseconds spent in {@link #filter} by every handle of this JVM so far; 0 unless
     * {@code -Dtrackgate.measure-crossing=true} (measurement only).
     */
    public static long crossingNanos() {
        return CROSSING_NANOS.get();
    }

    /** Whether lines were counted since the last {@link #takeStats}. */
    public boolean hasCounts() {
        return check(tg_stream_has_counts(live())) == 1;
    }

    /** The counts since the last take as one {@code trackgate-filter-stats/1} record (JSON). */
    public String takeStats(String window, String input) {
        byte[] windowBytes = window == null ? new byte[0] : window.getBytes(StandardCharsets.UTF_8);
        byte[] inputBytes = input.getBytes(StandardCharsets.UTF_8);
        long status = tg_stream_take_stats(
                live(), windowBytes, window == null ? -1 : windowBytes.length, inputBytes, inputBytes.length);
        return resultText(check(status));
    }

    /** Two stats records of one plan and window merged into one ({@code later} after {@code earlier}). */
    public String mergeStats(String earlier, String later) {
        byte[] first = earlier.getBytes(StandardCharsets.UTF_8);
        byte[] second = later.getBytes(StandardCharsets.UTF_8);
        return resultText(check(tg_stream_merge_stats(live(), first, first.length, second, second.length)));
    }

    @Override
    public void close() {
        if (handle != null) {
            tg_stream_free(handle);
            handle = null;
        }
    }

    private Pointer live() {
        if (handle == null) {
            throw new IllegalStateException("native stream used after close");
        }
        return handle;
    }

    private long check(long status) {
        if (status == STATUS_ERROR) {
            throw new NativeStreamException(resultText(tg_stream_result_length(handle)));
        }
        if (status < 0) {
            throw new NativeStreamException("trackgate-stream failed internally (status " + status + ")");
        }
        return status;
    }

    private String resultText(long length) {
        byte[] bytes = tg_stream_result(handle).getByteArray(0, (int) length);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** The {@code "version":N} member of an offer's description, or -1. */
    private static long jsonVersion(String description) {
        int at = description.indexOf("\"version\":");
        if (at < 0) {
            return -1;
        }
        int start = at + "\"version\":".length();
        int end = start;
        while (end < description.length() && Character.isDigit(description.charAt(end))) {
            end++;
        }
        return Long.parseLong(description.substring(start, end));
    }

    /** The scratch array, at least {@code size} bytes long. */
    private byte[] scratch(int size) {
        if (scratch.length < size) {
            scratch = new byte[Math.max(size, 2 * scratch.length)];
        }
        return scratch;
    }

    /** A packed block result: counts, then the kept lines per destination. */
    public static final class Block {
        private final ByteBuffer packed;
        private final NativeStream owner;

        Block(ByteBuffer packed, NativeStream owner) {
            this.packed = packed;
            this.owner = owner;
        }

        /** Lines in the block. */
        public long lines() {
            return packed.getLong(0);
        }

        /** Blank lines in the block. */
        public long blank() {
            return packed.getLong(8);
        }

        /** Malformed lines in the block. */
        public long malformed() {
            return packed.getLong(16);
        }

        /**
         * Calls {@code sink} with each kept, tagged line (without its newline) of destination
         * {@code index} (0..3: P0..P3; 4: no priority), copied into its own array.
         */
        public void forEachKept(int index, java.util.function.Consumer<byte[]> sink) {
            int lengthAt = BLOCK_HEADER_BYTES;
            int bytesAt = BLOCK_HEADER_BYTES;
            for (int destination = 0; destination < DESTINATIONS; destination++) {
                int lines = lineCount(destination);
                bytesAt += 4 * lines;
                if (destination < index) {
                    lengthAt += 4 * lines;
                    bytesAt += byteLength(destination);
                }
            }
            int length = byteLength(index);
            // One bulk copy out of native memory, then records cut on the heap at the lengths the
            // library sent: reading the direct buffer byte by byte for newlines cost 600-650 us
            // of a 4,096-line block, about 180 ns per kept line (docs/performance.md, "Crossing
            // share").
            byte[] bytes = owner.scratch(length);
            packed.get(bytesAt, bytes, 0, length);
            int lineStart = 0;
            for (int line = lineCount(index); line > 0; line--, lengthAt += 4) {
                int lineEnd = lineStart + packed.getInt(lengthAt);
                if (lineEnd >= length) {
                    throw new NativeStreamException("packed block result: line lengths overrun destination " + index);
                }
                sink.accept(Arrays.copyOfRange(bytes, lineStart, lineEnd));
                lineStart = lineEnd + 1;
            }
            if (lineStart != length) {
                throw new NativeStreamException("packed block result: line lengths do not match destination " + index);
            }
        }

        private int byteLength(int destination) {
            return packed.getInt(24 + 4 * destination);
        }

        private int lineCount(int destination) {
            return packed.getInt(44 + 4 * destination);
        }
    }

    /** A failure reported by the native library. */
    public static final class NativeStreamException extends RuntimeException {
        NativeStreamException(String message) {
            super(message);
        }
    }
}
