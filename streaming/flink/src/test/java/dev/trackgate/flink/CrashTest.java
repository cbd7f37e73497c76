package dev.trackgate.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.JobHarness;
import dev.trackgate.flink.common.Trackgate;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Crash: a task fails mid-stream, after a checkpoint completed; the job restarts from that
 * checkpoint, and in the end every input event is decided exactly once in the outputs (kept
 * lines as the filter keeps them, none twice) and counted exactly once in the stats.
 */
class CrashTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = JobHarness.miniCluster();

    private static final int EVENTS = 100_000;

    /** Set by the injected failure; the mini-cluster runs tasks in this JVM. */
    static final AtomicBoolean FAILED = new AtomicBoolean();
    static final AtomicLong CHECKPOINTS_BEFORE_FAILURE = new AtomicLong();

    /** Passes events through; throws once, on a record after a checkpoint completed. */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<byte[], byte[]> implements CheckpointListener {
        private transient long completed;
        private transient long seen;

        @Override
        public byte[] map(byte[] value) {
            seen++;
            if (completed > 0 && seen > 1_000 && FAILED.compareAndSet(false, true)) {
                CHECKPOINTS_BEFORE_FAILURE.set(completed);
                throw new IllegalStateException("injected task failure after " + seen + " events");
            }
            return value;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            completed++;
        }
    }

    @Test
    void every_event_is_decided_exactly_once_across_a_task_failure(@TempDir Path directory) throws Exception {
        JobHarness job = new JobHarness("crash", directory);
        Path envelope = job.signedPlan(4);
        List<byte[]> events = Fixtures.events(EVENTS, 200, 31);
        job.broker.produce(job.events, events, Fixtures.timestamps(EVENTS, 3, 60_000));
        List<List<String>> expected = Trackgate.filter(directory, "all", directory.resolve("plan.json"), events);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrackgateJob.restarts());
        TrackgateJob.build(env, job.config(envelope, "--bounded", "true", "--checkpoint-ms", "300"),
                raw -> raw.map(new FailOnceAfterCheckpoint()).name("inject failure"));
        env.execute("crash");
        assertTrue(FAILED.get(), "the failure was injected");
        assertTrue(CHECKPOINTS_BEFORE_FAILURE.get() > 0, "after a completed checkpoint");

        int kept = JobHarness.size(expected);
        List<ConsumerRecord<byte[], byte[]>> read =
                job.broker.readUntil(job.outputs(), got -> got.size() >= kept, Duration.ofSeconds(60));
        assertEquals(kept, read.size(), "no kept event written twice");
        assertEquals(expected, job.keptBetween(read, 0, EVENTS, 4));

        JsonNode filterStats = JobHarness.json(Files.readString(directory.resolve("all.stats.json")));
        assertEquals(JobHarness.countTotals(List.of(filterStats)), JobHarness.countTotals(job.statsCounting(EVENTS)),
                "every event counted once");
    }
}
