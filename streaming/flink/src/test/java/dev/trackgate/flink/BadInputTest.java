package dev.trackgate.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.JobHarness;
import dev.trackgate.flink.common.Trackgate;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Bad input: malformed lines, non-UTF-8 bytes, huge lines, blank records, records holding
 * several lines, reserved members and wrong types are counted exactly as {@code trackgate
 * filter} counts them in a file of the same records, and the job never fails on an event (it
 * runs here with restarts off, so any failure would fail the run).
 */
class BadInputTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = JobHarness.miniCluster();

    @Test
    void bad_records_are_counted_as_the_filter_counts_them_and_never_fail_the_job(@TempDir Path directory)
            throws Exception {
        JobHarness job = new JobHarness("bad", directory);
        Path envelope = job.signedPlan(2);
        List<byte[]> good = Fixtures.events(5_000, 200, 5);
        byte[][] bad = {
            "{\"id\":900001,\"event\":\"e.00001\",".getBytes(StandardCharsets.UTF_8),
            "not json at all".getBytes(StandardCharsets.UTF_8),
            "[1,2,3]".getBytes(StandardCharsets.UTF_8),
            "{\"id\":900002,\"event\":7}".getBytes(StandardCharsets.UTF_8),
            "{\"id\":900003,\"event\":\"e.00002\",\"_tg_priority\":\"P0\"}".getBytes(StandardCharsets.UTF_8),
            {'{', '"', 'e', 'v', 'e', 'n', 't', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'},
            {(byte) 0xc3, (byte) 0x28},
            new byte[0],
            "   \t".getBytes(StandardCharsets.UTF_8),
            "{\"id\":900004,\"event\":\"e.00004\"}\r".getBytes(StandardCharsets.UTF_8),
            "{\"id\":900005,\"event\":\"e.00005\"}\n{\"id\":900006,\"event\":\"e.00006\"}".getBytes(StandardCharsets.UTF_8),
            ("{\"id\":900007,\"event\":\"e.00008\",\"pad\":\"" + "z".repeat(3 << 20) + "\"}").getBytes(StandardCharsets.UTF_8),
            ("{\"id\":900008,\"event\":\"e.00008\",\"pad\":\"" + "z".repeat(3 << 20)).getBytes(StandardCharsets.UTF_8),
        };
        List<byte[]> records = new ArrayList<>();
        for (int index = 0; index < good.size(); index++) {
            records.add(good.get(index));
            if (index % 300 == 0) {
                records.add(bad[(index / 300) % bad.length]);
            }
        }
        for (byte[] record : bad) {
            records.add(record);
        }
        job.broker.produce(job.events, records, Fixtures.timestamps(records.size(), 2, 60_000));
        List<List<String>> expected = Trackgate.filter(directory, "all", directory.resolve("plan.json"), records);

        Configuration noRestarts = new Configuration();
        noRestarts.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(noRestarts);
        TrackgateJob.build(env, job.config(envelope, "--bounded", "true"), UnaryOperator.identity());
        env.execute("bad input");

        int kept = JobHarness.size(expected);
        List<ConsumerRecord<byte[], byte[]>> read =
                job.broker.readUntil(job.outputs(), got -> got.size() >= kept, Duration.ofSeconds(60));
        assertEquals(kept, read.size());
        assertEquals(expected, job.keptBetween(read, 0, Integer.MAX_VALUE, 2));

        JsonNode filterStats = JobHarness.json(Files.readString(directory.resolve("all.stats.json")));
        long lines = filterStats.get("lines").asLong();
        assertTrue(filterStats.get("malformed").get("count").asLong() >= 15, "the input has malformed lines");
        assertEquals(JobHarness.countTotals(List.of(filterStats)), JobHarness.countTotals(job.statsCounting(lines)));
    }
}
