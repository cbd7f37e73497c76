package dev.trackgate.flink;

import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Enforces the active signed plan on raw events, in blocks, and swaps plans live.
 *
 * <p>Input 1: raw NDJSON events (one per Kafka record, timestamped with the record's time).
 * Input 2: signed envelopes from the control topic, broadcast to every task. Output: kept,
 * tagged events routed by priority, per-window filter-stats records and control-log entries,
 * each with the plan version that produced it.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>Every decision, tag and count is made by the Rust library ({@link NativeStream}): the
 *       block handed to it is the records joined with {@code \n}, which {@code trackgate filter}
 *       would read from a file of the same records.</li>
 *   <li>Every event is decided under exactly one plan version: the pending block is filtered and
 *       its counts taken before an envelope is offered, and the library refuses to swap while
 *       counts are pending.</li>
 *   <li>A refused envelope changes nothing; it is logged and written to the control log.</li>
 *   <li>Nothing is lost or duplicated: the block is flushed before each checkpoint barrier
 *       ({@link #prepareSnapshotPreBarrier}), the active envelope lives in broadcast state and
 *       unfinished window counts in operator state, and the sink writes in Kafka transactions
 *       committed with the checkpoint.</li>
 * </ul>
 * A window's stats are emitted once the event-time watermark passes its end (per task and plan
 * version; {@code trackgate report} adds records of one window together). Late events, whose
 * window the watermark already passed, are decided, routed and counted like any other; their
 * counts go out as a further record for that window at the next flush timer ({@code --flush-ms})
 * or watermark, whichever comes first, and nothing is dropped for being late.
 */
public final class EnforceOperator extends AbstractStreamOperator<Routed>
        implements TwoInputStreamOperator<byte[], byte[], Routed>, BoundedMultiInput {
    private static final long serialVersionUID = 1L;

    /** The active envelope, the same in every task (Flink's broadcast state pattern). */
    static final MapStateDescriptor<String, byte[]> PLAN_STATE = new MapStateDescriptor<>(
            "trackgate-active-envelope", Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    private static final String ACTIVE = "active";
    private static final long NO_WINDOW = Long.MIN_VALUE;

    private final JobConfig config;

    private transient NativeStream stream;
    private transient BroadcastState<String, byte[]> planState;
    /** Unfinished windows' stats: "windowStart\tversion\tjson" records. */
    private transient ListState<String> partialState;
    /** Window start → plan version → stats counted so far (one JSON record each). */
    private transient TreeMap<Long, TreeMap<Long, String>> partials;
    private transient ByteBuffer block;
    private transient int blockLines;
    private transient long blockWindow;
    /** The window the library's pending counts belong to. */
    private transient long countsWindow;
    private transient long activeVersion;
    /** The latest event-time watermark seen (windows ending by it are closed). */
    private transient long watermark;
    private transient String inputLabel;
    private transient int task;

    /** An operator applying {@code config}. */
    public EnforceOperator(JobConfig config) {
        this.config = config;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        planState = context.getOperatorStateStore().getBroadcastState(PLAN_STATE);
        partialState = context.getOperatorStateStore()
                .getListState(new ListStateDescriptor<>("trackgate-window-stats", Types.STRING));
        partials = new TreeMap<>();
        for (String record : partialState.get()) {
            String[] parts = record.split("\t", 3);
            addPartial(Long.parseLong(parts[0]), Long.parseLong(parts[1]), parts[2]);
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        task = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        inputLabel = "kafka:" + config.eventsTopic + "#task-" + task;
        block = ByteBuffer.allocateDirect(config.blockBytes + 64 * 1024);
        blockWindow = NO_WINDOW;
        countsWindow = NO_WINDOW;
        activeVersion = -1;
        watermark = Long.MIN_VALUE;
        stream = NativeStream.open(config.nativeConfigJson());
        long now = nowSeconds();
        byte[] restored = planState.get(ACTIVE);
        if (restored != null) {
            NativeStream.Offer offer = stream.offer(restored, now, true);
            if (offer.outcome() != NativeStream.Outcome.INSTALLED) {
                throw new IllegalStateException("the checkpointed plan was refused: " + offer.description());
            }
            activeVersion = offer.version();
        }
        // The configured plan is offered like any envelope: after a restore it is usually the
        // same or older, and refused as a rollback; that is expected, not an error.
        NativeStream.Offer initial = stream.offer(config.initialEnvelope, now, false);
        if (initial.outcome() == NativeStream.Outcome.INSTALLED) {
            activeVersion = initial.version();
            planState.put(ACTIVE, config.initialEnvelope);
        } else if (activeVersion < 0) {
            throw new IllegalArgumentException("--initial-envelope was refused: " + initial.description());
        }
        LOG.info("trackgate task {} deciding with plan version {}", task, activeVersion);
        scheduleFlush();
    }

    @Override
    public void processElement1(StreamRecord<byte[]> element) throws Exception {
        byte[] value = element.getValue();
        long time = element.hasTimestamp() ? element.getTimestamp() : 0;
        long window = time - Math.floorMod(time, config.windowMillis);
        if (blockLines > 0 && (window != blockWindow || block.remaining() < value.length + 1)) {
            flush();
        }
        if (block.remaining() < value.length + 1) {
            block = ByteBuffer.allocateDirect(value.length + 1 + config.blockBytes);
        }
        block.put(value).put((byte) '\n');
        blockLines++;
        blockWindow = window;
        if (blockLines >= config.blockLines || block.position() >= config.blockBytes) {
            flush();
        }
    }

    @Override
    public void processElement2(StreamRecord<byte[]> element) throws Exception {
        // Everything before the envelope is decided and counted under the plan that was active.
        flush();
        takeCounts();
        long now = nowSeconds();
        byte[] envelope = element.getValue();
        NativeStream.Offer offer = stream.offer(envelope, now, false);
        switch (offer.outcome()) {
            case INSTALLED -> {
                planState.put(ACTIVE, envelope);
                activeVersion = offer.version();
                LOG.info("trackgate task {}: plan version {} installed: {}", task, activeVersion, offer.description());
            }
            case ALREADY_CURRENT -> LOG.info("trackgate task {}: envelope already active: {}", task, offer.description());
            case REFUSED -> LOG.warn("trackgate task {}: envelope refused, plan version {} stays: {}",
                    task, activeVersion, offer.description());
        }
        String entry = "{\"task\":" + task + ",\"at_ms\":" + System.currentTimeMillis()
                + ",\"active_version\":" + activeVersion + ",\"offer\":" + offer.description() + "}";
        output.collect(new StreamRecord<>(
                new Routed(config.controlLogTopic, entry.getBytes(StandardCharsets.UTF_8), activeVersion)));
    }

    /** Only event time matters; the control input's watermarks are ignored. */
    @Override
    public void processWatermark1(Watermark mark) throws Exception {
        watermark = Math.max(watermark, mark.getTimestamp());
        flush();
        emitClosedWindows();
        super.processWatermark(mark);
    }

    @Override
    public void processWatermark2(Watermark mark) {}

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        takeCounts();
        List<String> records = new ArrayList<>();
        for (Map.Entry<Long, TreeMap<Long, String>> window : partials.entrySet()) {
            for (Map.Entry<Long, String> byVersion : window.getValue().entrySet()) {
                records.add(window.getKey() + "\t" + byVersion.getKey() + "\t" + byVersion.getValue());
            }
        }
        partialState.update(records);
    }

    @Override
    public void endInput(int inputId) throws Exception {
        if (inputId == 1) {
            flush();
            takeCounts();
        }
    }

    @Override
    public void finish() throws Exception {
        flush();
        takeCounts();
        emitWindowsEndingBy(Long.MAX_VALUE);
        super.finish();
    }

    @Override
    public void close() throws Exception {
        if (stream != null) {
            stream.close();
            stream = null;
        }
        super.close();
    }

    /** Filters the pending block and emits its kept lines, routed by priority. */
    private void flush() {
        if (blockLines == 0) {
            return;
        }
        if (countsWindow != blockWindow) {
            takeCounts();
        }
        // JNA passes a buffer's address at its position: hand it over from the start.
        block.flip();
        NativeStream.Block result = stream.filter(block, block.limit());
        countsWindow = blockWindow;
        for (int destination = 0; destination < NativeStream.DESTINATIONS; destination++) {
            String topic = config.destinationTopic(destination);
            long version = activeVersion;
            result.forEachKept(destination, line -> output.collect(new StreamRecord<>(new Routed(topic, line, version))));
        }
        block.clear();
        blockLines = 0;
    }

    /** Moves the library's pending counts into the partial stats of their window. */
    private void takeCounts() {
        if (countsWindow == NO_WINDOW || !stream.hasCounts()) {
            return;
        }
        addPartial(countsWindow, activeVersion, stream.takeStats(windowLabel(countsWindow), inputLabel));
    }

    private void addPartial(long window, long version, String stats) {
        TreeMap<Long, String> byVersion = partials.computeIfAbsent(window, start -> new TreeMap<>());
        String earlier = byVersion.get(version);
        byVersion.put(version, earlier == null ? stats : stream.mergeStats(earlier, stats));
    }

    /**
     * Emits the stats of every window the watermark has passed, taking the library's pending
     * counts first when they belong to such a window (late events).
     */
    private void emitClosedWindows() {
        if (countsWindow != NO_WINDOW && countsWindow + config.windowMillis - 1 <= watermark) {
            takeCounts();
        }
        emitWindowsEndingBy(watermark);
    }

    private void emitWindowsEndingBy(long end) {
        Iterator<Map.Entry<Long, TreeMap<Long, String>>> windows = partials.entrySet().iterator();
        while (windows.hasNext()) {
            Map.Entry<Long, TreeMap<Long, String>> window = windows.next();
            if (window.getKey() + config.windowMillis - 1 > end) {
                break;
            }
            for (Map.Entry<Long, String> byVersion : window.getValue().entrySet()) {
                output.collect(new StreamRecord<>(new Routed(config.statsTopic,
                        byVersion.getValue().getBytes(StandardCharsets.UTF_8), byVersion.getKey())));
            }
            windows.remove();
        }
    }

    private void scheduleFlush() {
        long at = getProcessingTimeService().getCurrentProcessingTime() + config.flushMillis;
        getProcessingTimeService().registerTimer(at, time -> {
            flush();
            // Late events' counts need not wait for the watermark to move again.
            emitClosedWindows();
            scheduleFlush();
        });
    }

    /** The window's label in stats records: its start (UTC) and length. */
    private String windowLabel(long start) {
        return Instant.ofEpochMilli(start) + "+" + config.windowMillis + "ms";
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }
}
