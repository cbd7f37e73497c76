package dev.trackgate.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.JobHarness;
import dev.trackgate.flink.common.Trackgate;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Parity: 200,000 generated events through the job (real Kafka, mini-cluster, two tasks) and
 * through {@code trackgate filter} with the same plan keep the same events with the same tags,
 * priorities and weights, and count the same.
 */
class ParityTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = JobHarness.miniCluster();

    private static final int EVENTS = 200_000;
    private static final int WINDOWS = 4;

    @Test
    void the_job_keeps_tags_and_counts_exactly_what_the_filter_does(@TempDir Path directory) throws Exception {
        JobHarness job = new JobHarness("parity", directory);
        Path envelope = job.signedPlan(7);
        List<byte[]> events = Fixtures.events(EVENTS, 200, 14);
        job.broker.produce(job.events, events, Fixtures.timestamps(EVENTS, WINDOWS, 60_000));

        JobHarness.run("parity", job.config(envelope, "--bounded", "true"));

        Path input = directory.resolve("events.ndjson");
        Files.write(input, Fixtures.ndjson(events));
        Path split = directory.resolve("filtered");
        Path statsFile = directory.resolve("stats.json");
        Trackgate.run("filter", "--plan", directory.resolve("plan.json").toString(), "--threads", "1",
                "--split-by-priority", split.toString(), "--stats", statsFile.toString(), input.toString());
        JsonNode filterStats = JobHarness.json(Files.readString(statsFile));
        long expectedKept = filterStats.get("kept").asLong();
        assertTrue(expectedKept > 100_000 && expectedKept < EVENTS, "the plan keeps some and drops some");

        List<ConsumerRecord<byte[], byte[]>> kept =
                job.broker.readUntil(job.outputs(), read -> read.size() >= expectedKept, Duration.ofSeconds(60));
        assertEquals(expectedKept, kept.size());
        String[] files = {"P0.ndjson", "P1.ndjson", "P2.ndjson", "P3.ndjson", "unregistered.ndjson"};
        for (int destination = 0; destination < files.length; destination++) {
            String topic = job.outputs().get(destination);
            List<String> streamed = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> record : kept) {
                if (record.topic().equals(topic)) {
                    streamed.add(JobHarness.text(record));
                    assertEquals(7, JobHarness.planVersion(record));
                }
            }
            List<String> filtered = new ArrayList<>(JobHarness.lines(split.resolve(files[destination])));
            Collections.sort(streamed);
            Collections.sort(filtered);
            assertEquals(filtered.size(), streamed.size(), topic);
            assertEquals(filtered, streamed, topic);
        }

        List<JsonNode> records = job.statsCounting(EVENTS);
        Set<String> windows = new HashSet<>();
        for (JsonNode stats : records) {
            assertEquals("trackgate-filter-stats/1", stats.get("format").asText());
            assertEquals(7, stats.get("plan").get("version").asLong());
            windows.add(stats.get("window").asText());
        }
        assertEquals(WINDOWS, windows.size(), "one label per window: " + windows);
        assertEquals(JobHarness.countTotals(List.of(filterStats)), JobHarness.countTotals(records));
    }
}
