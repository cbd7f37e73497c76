package dev.trackgate.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Live swap: a running job (no restart) decides with a new signed plan from one point on,
 * in every task; forged, unknown-key, rolled-back and wrong-scope envelopes on the control
 * topic change nothing (and are logged). Also measures the swap latency (envelope written to
 * the control topic → every task has installed it), printed for docs/performance.md.
 */
class LiveSwapTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = JobHarness.miniCluster();

    private static final int BATCH = 3_000;

    @Test
    void a_signed_plan_swaps_in_every_task_and_bad_envelopes_change_nothing(@TempDir Path directory) throws Exception {
        JobHarness job = new JobHarness("swap", directory);
        Trackgate.Signer signer = job.signer;
        Trackgate.Signer stranger = Trackgate.signer(directory.resolve("stranger"));
        Path v5 = signer.sign("v5", Fixtures.plan("shop", 5, 200, "P0"), 5);
        Path v3 = signer.sign("v3", Fixtures.plan("shop", 3, 200, "P3"), 3);
        Path v7 = signer.sign("v7", Fixtures.plan("shop", 7, 200, "P3"), 7);
        Path otherScope = signer.sign("other", Fixtures.plan("other", 9, 200, "P3"), 9);
        Path unknownKey = stranger.sign("unknown", Fixtures.plan("shop", 9, 200, "P3"), 9);
        byte[] forged = Trackgate.bytes(signer.sign("forged", Fixtures.plan("shop", 9, 200, "P3"), 9));
        forged[forged.length - 1] ^= 1;

        List<byte[]> events = Fixtures.events(3 * BATCH, 200, 22);
        List<List<String>> expectedA = Trackgate.filter(directory, "a", directory.resolve("v5.json"), events.subList(0, BATCH));
        List<List<String>> expectedB = Trackgate.filter(directory, "b", directory.resolve("v5.json"), events.subList(BATCH, 2 * BATCH));
        List<List<String>> expectedC = Trackgate.filter(directory, "c", directory.resolve("v7.json"), events.subList(2 * BATCH, 3 * BATCH));
        assertNotEquals(expectedC, Trackgate.filter(directory, "c5", directory.resolve("v5.json"), events.subList(2 * BATCH, 3 * BATCH)),
                "plan 7 decides differently from plan 5");

        JobClient client = JobHarness.start("live swap",
                job.config(v5, "--flush-ms", "50", "--checkpoint-ms", "300"));
        try {
            long[] times = Fixtures.timestamps(BATCH, 1, 60_000);
            job.broker.produce(job.events, events.subList(0, BATCH), times);
            int keptA = JobHarness.size(expectedA);
            List<ConsumerRecord<byte[], byte[]>> read =
                    job.broker.readUntil(job.outputs(), got -> got.size() >= keptA, Duration.ofSeconds(60));
            assertEquals(expectedA, job.keptBetween(read, 0, BATCH, 5));

            for (byte[] bad : List.of(forged, Trackgate.bytes(unknownKey), Trackgate.bytes(v3), Trackgate.bytes(otherScope))) {
                job.broker.produce(job.control, "shop/prod", bad);
            }
            List<JsonNode> refusals = controlLog(job, "refused", 4 * JobHarness.SLOTS);
            List<String> reasons = new ArrayList<>();
            for (JsonNode entry : refusals) {
                assertEquals(5, entry.get("active_version").asLong());
                reasons.add(entry.get("offer").get("reason").asText());
            }
            for (String reason : List.of("bad_signature", "unknown_key", "rollback", "wrong_scope")) {
                assertEquals(JobHarness.SLOTS, reasons.stream().filter(reason::equals).count(), reason + " in " + reasons);
            }

            job.broker.produce(job.events, events.subList(BATCH, 2 * BATCH), times);
            int keptAB = keptA + JobHarness.size(expectedB);
            read = job.broker.readUntil(job.outputs(), got -> got.size() >= keptAB, Duration.ofSeconds(60));
            assertEquals(expectedB, job.keptBetween(read, BATCH, 2 * BATCH, 5), "refused envelopes changed nothing");

            long published = System.currentTimeMillis();
            job.broker.produce(job.control, "shop/prod", Trackgate.bytes(v7));
            List<JsonNode> installs = controlLog(job, "installed", JobHarness.SLOTS);
            long swapped = 0;
            for (JsonNode entry : installs) {
                assertEquals(7, entry.get("active_version").asLong());
                swapped = Math.max(swapped, entry.get("at_ms").asLong());
            }
            System.out.printf("trackgate-figure plan-swap-ms %d (envelope produced -> every task installed, %d tasks)%n",
                    swapped - published, JobHarness.SLOTS);

            job.broker.produce(job.events, events.subList(2 * BATCH, 3 * BATCH), times);
            int keptABC = keptAB + JobHarness.size(expectedC);
            read = job.broker.readUntil(job.outputs(), got -> got.size() >= keptABC, Duration.ofSeconds(60));
            assertEquals(expectedC, job.keptBetween(read, 2 * BATCH, 3 * BATCH, 7), "plan 7 decides from then on");
            assertEquals(keptABC, read.size(), "nothing kept twice");
        } finally {
            client.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    /** Waits until the control log holds {@code count} entries with {@code outcome}; returns them. */
    private static List<JsonNode> controlLog(JobHarness job, String outcome, int count) {
        List<JsonNode> found = new ArrayList<>();
        job.broker.readUntil(List.of(job.controlLog), read -> {
            found.clear();
            for (ConsumerRecord<byte[], byte[]> record : read) {
                JsonNode entry = JobHarness.json(record);
                if (entry.get("offer").get("outcome").asText().equals(outcome)) {
                    found.add(entry);
                }
            }
            return found.size() >= count;
        }, Duration.ofSeconds(60));
        assertTrue(found.size() == count, "exactly " + count + " " + outcome + " entries, got " + found.size());
        return found;
    }
}
