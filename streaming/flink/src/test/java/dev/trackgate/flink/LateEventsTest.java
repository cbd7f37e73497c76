package dev.trackgate.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.JobHarness;
import dev.trackgate.flink.common.Trackgate;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Late events: events whose window's stats were already emitted (the watermark passed the
 * window's end) are still decided and routed exactly once, and their counts go out as a further
 * stats record for that window, which {@code trackgate report} adds to the first; nothing else
 * has to arrive for that record to be written.
 */
class LateEventsTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = JobHarness.miniCluster();

    private static final int BATCH = 2_000;
    private static final long WINDOW = 60_000;
    private static final String FIRST_WINDOW = Instant.ofEpochMilli(Fixtures.BASE_TIME) + "+" + WINDOW + "ms";

    @Test
    void late_events_are_decided_once_and_counted_in_a_further_record_of_their_window(@TempDir Path directory)
            throws Exception {
        JobHarness job = new JobHarness("late", directory);
        Path envelope = job.signedPlan(3);
        Path plan = directory.resolve("plan.json");
        // A and C fall in the first window, B two windows later: B moves the watermark past the
        // first window's end, so C arrives late. Each batch is spread over both partitions, so
        // both tasks see all three (a task's watermark follows its own partition only).
        List<byte[]> events = Fixtures.events(3 * BATCH, 200, 41);
        List<byte[]> a = events.subList(0, BATCH);
        List<byte[]> b = events.subList(BATCH, 2 * BATCH);
        List<byte[]> c = events.subList(2 * BATCH, 3 * BATCH);
        long[] firstWindow = Fixtures.timestamps(BATCH, 1, WINDOW);
        long[] thirdWindow = firstWindow.clone();
        for (int index = 0; index < thirdWindow.length; index++) {
            thirdWindow[index] += 2 * WINDOW;
        }
        List<List<String>> expectedA = Trackgate.filter(directory, "a", plan, a);
        List<List<String>> expectedB = Trackgate.filter(directory, "b", plan, b);
        List<List<String>> expectedC = Trackgate.filter(directory, "c", plan, c);
        List<byte[]> firstWindowEvents = new ArrayList<>(a);
        firstWindowEvents.addAll(c);
        Trackgate.filter(directory, "ac", plan, firstWindowEvents);
        JsonNode expectedStats = JobHarness.json(Files.readString(directory.resolve("ac.stats.json")));

        JobClient client = JobHarness.start("late events",
                job.config(envelope, "--flush-ms", "50", "--checkpoint-ms", "300"));
        try {
            job.broker.produce(job.events, a, firstWindow, JobHarness.SLOTS);
            job.broker.produce(job.events, b, thirdWindow, JobHarness.SLOTS);
            List<JsonNode> onTime = firstWindowStats(job, BATCH);
            assertEquals(BATCH, JobHarness.lines(onTime), "the first window's stats, before the late events");

            job.broker.produce(job.events, c, firstWindow, JobHarness.SLOTS);
            List<JsonNode> all = firstWindowStats(job, 2 * BATCH);
            assertEquals(2 * BATCH, JobHarness.lines(all), "every event of the first window counted once");
            assertEquals(JobHarness.SLOTS, onTime.size(), "one record per task before the late events");
            // Further records per task: one, or more when a flush timer fired between late blocks.
            assertTrue(all.size() > onTime.size(), "the late counts are further records: " + all.size());
            assertEquals(JobHarness.countTotals(List.of(expectedStats)), JobHarness.countTotals(all));

            int kept = JobHarness.size(expectedA) + JobHarness.size(expectedB) + JobHarness.size(expectedC);
            List<ConsumerRecord<byte[], byte[]>> read =
                    job.broker.readUntil(job.outputs(), got -> got.size() >= kept, Duration.ofSeconds(60));
            assertEquals(expectedA, job.keptBetween(read, 0, BATCH, 3));
            assertEquals(expectedB, job.keptBetween(read, BATCH, 2 * BATCH, 3));
            assertEquals(expectedC, job.keptBetween(read, 2 * BATCH, 3 * BATCH, 3), "late events decided and routed");
            assertEquals(kept, read.size(), "nothing kept twice");

            // `trackgate report` adds the window's records up: the same figures as the filter's
            // stats of the window's events.
            Path dump = directory.resolve("stats-topic.ndjson");
            StringBuilder ndjson = new StringBuilder();
            all.forEach(record -> ndjson.append(record).append('\n'));
            Files.writeString(dump, ndjson, StandardCharsets.UTF_8);
            JsonNode report = JobHarness.json(Trackgate.output("report", "--json", dump.toString()));
            JsonNode window = report.get("windows").get(0);
            assertEquals(1, report.get("windows").size());
            assertEquals(FIRST_WINDOW, window.get("label").asText());
            for (String field : List.of("offered", "offered_bytes", "kept", "kept_bytes")) {
                assertEquals(expectedStats.get(field).asLong(), window.get(field).asLong(), field);
            }
        } finally {
            client.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    /** The first window's stats records once their lines add up to at least {@code lines}. */
    private static List<JsonNode> firstWindowStats(JobHarness job, long lines) {
        List<JsonNode> found = new ArrayList<>();
        job.statsUntil(records -> {
            found.clear();
            records.stream().filter(record -> record.get("window").asText().equals(FIRST_WINDOW)).forEach(found::add);
            return JobHarness.lines(found) >= lines;
        });
        return found;
    }
}
