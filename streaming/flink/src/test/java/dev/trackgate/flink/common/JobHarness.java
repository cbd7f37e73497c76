package dev.trackgate.flink.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trackgate.flink.JobConfig;
import dev.trackgate.flink.RoutedSerializer;
import dev.trackgate.flink.TrackgateJob;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * What every job test shares: a mini-cluster of one task manager with two slots, fresh topics
 * per test on the shared broker, the job's options for them, running it, and readers of what
 * it wrote.
 */
public final class JobHarness {
    private static final AtomicInteger RUNS = new AtomicInteger();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Task slots of the test cluster (and the job's parallelism). */
    public static final int SLOTS = 2;

    /** A mini-cluster for a test class ({@code @RegisterExtension static}). */
    public static MiniClusterExtension miniCluster() {
        return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(SLOTS)
                .build());
    }

    /** One test's topics. */
    public final String events;
    public final String control;
    public final String prefix;
    public final String stats;
    public final String controlLog;
    public final KafkaBroker broker;
    /** The test's key pair, the only one the job trusts, signing into the test's directory. */
    public final Trackgate.Signer signer;

    /** Fresh topics named after {@code test} on the shared broker, and a key pair in {@code directory}. */
    public JobHarness(String test, Path directory) throws Exception {
        broker = KafkaBroker.shared();
        signer = Trackgate.signer(directory);
        String base = test + "-" + RUNS.incrementAndGet() + "-" + ProcessHandle.current().pid();
        events = base + ".raw";
        control = base + ".plans";
        prefix = base + ".out.";
        stats = base + ".stats";
        controlLog = base + ".control-log";
        broker.createTopics(SLOTS, List.of(events, control, stats, controlLog, prefix + "P0", prefix + "P1",
                prefix + "P2", prefix + "P3", prefix + "unregistered"), control);
    }

    /** The kept-event topics, P0..P3 then unregistered. */
    public List<String> outputs() {
        return List.of(prefix + "P0", prefix + "P1", prefix + "P2", prefix + "P3", prefix + "unregistered");
    }

    /**
     * {@code Fixtures.plan} of 200 events for app shop, signed as {@code version} into
     * plan.json and plan.tgplan; returns the envelope's path.
     */
    public Path signedPlan(long version) throws Exception {
        return signer.sign("plan", Fixtures.plan("shop", version, 200, "P0"), version);
    }

    /** The job's options for these topics and the test's key, plus {@code extra} name/value pairs. */
    public JobConfig config(Path envelope, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of(
                "--bootstrap", broker.bootstrap(), "--events-topic", events, "--control-topic", control,
                "--output-prefix", prefix, "--stats-topic", stats, "--control-log-topic", controlLog,
                "--app", "shop", "--env", "prod", "--trusted-keys", signer.publicKey().toString(),
                "--initial-envelope", envelope.toString(), "--parallelism", Integer.toString(SLOTS),
                "--group-id", "tg-" + events, "--checkpoint-ms", "500", "--window-ms", "60000",
                "--out-of-orderness-ms", "1000"));
        args.addAll(List.of(extra));
        return JobConfig.fromArgs(args.toArray(new String[0]));
    }

    /** Runs the job on the test's mini-cluster to its end ({@code --bounded true}), restarting as in production. */
    public static void run(String name, JobConfig config) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrackgateJob.restarts());
        TrackgateJob.build(env, config, UnaryOperator.identity());
        env.execute(name);
    }

    /** Starts the job on the test's mini-cluster and returns at once; cancel it through the client. */
    public static JobClient start(String name, JobConfig config) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(TrackgateJob.restarts());
        TrackgateJob.build(env, config, UnaryOperator.identity());
        return env.executeAsync(name);
    }

    /**
     * The records on the stats topic, parsed, once {@code done} holds for them (read again from
     * the start until it does; fails after 60 s).
     */
    public List<JsonNode> statsUntil(Predicate<List<JsonNode>> done) {
        List<JsonNode> stats = new ArrayList<>();
        broker.readUntil(List.of(this.stats), read -> {
            stats.clear();
            read.forEach(record -> stats.add(json(record)));
            return done.test(stats);
        }, Duration.ofSeconds(60));
        return stats;
    }

    /** The stats records once their lines add up to at least {@code lines}. */
    public List<JsonNode> statsCounting(long lines) {
        return statsUntil(records -> lines(records) >= lines);
    }

    /** The lines counted by stats records, added up. */
    public static long lines(List<JsonNode> stats) {
        return stats.stream().mapToLong(record -> record.get("lines").asLong()).sum();
    }

    /** The plan version header of a record the job wrote. */
    public static long planVersion(ConsumerRecord<byte[], byte[]> record) {
        Header header = record.headers().lastHeader(RoutedSerializer.PLAN_VERSION_HEADER);
        return Long.parseLong(new String(header.value(), StandardCharsets.US_ASCII));
    }

    /**
     * The kept records among {@code read} whose {@code id} member is in [{@code from}, {@code to}),
     * grouped by destination (P0..P3, unregistered) and sorted; fails if any was decided under a
     * plan version other than {@code version}.
     */
    public List<List<String>> keptBetween(List<ConsumerRecord<byte[], byte[]>> read, int from, int to, long version) {
        List<List<String>> kept = new ArrayList<>();
        for (String topic : outputs()) {
            List<String> lines = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> record : read) {
                int id = id(record);
                if (record.topic().equals(topic) && id >= from && id < to) {
                    if (planVersion(record) != version) {
                        throw new AssertionError("event " + id + " decided under version " + planVersion(record)
                                + ", expected " + version);
                    }
                    lines.add(text(record));
                }
            }
            java.util.Collections.sort(lines);
            kept.add(lines);
        }
        return kept;
    }

    /** The {@code id} member of a generated event (the first member of every fixture line). */
    public static int id(ConsumerRecord<byte[], byte[]> record) {
        String text = text(record);
        int start = text.indexOf("\"id\":") + 5;
        int end = start;
        while (end < text.length() && Character.isDigit(text.charAt(end))) {
            end++;
        }
        return Integer.parseInt(text.substring(start, end));
    }

    /** How many lines in {@code kept} (per destination lists). */
    public static int size(List<List<String>> kept) {
        return kept.stream().mapToInt(List::size).sum();
    }

    /** A record's value as text. */
    public static String text(ConsumerRecord<byte[], byte[]> record) {
        return new String(record.value(), StandardCharsets.UTF_8);
    }

    /** Parses JSON text. */
    public static JsonNode json(String text) throws IOException {
        return JSON.readTree(text);
    }

    /** Parses a record's value as JSON (the job's stats and control log). */
    public static JsonNode json(ConsumerRecord<byte[], byte[]> record) {
        try {
            return json(text(record));
        } catch (IOException error) {
            throw new UncheckedIOException("not JSON: " + text(record), error);
        }
    }

    /** A file's lines (NDJSON output of the filter); none when it does not exist. */
    public static List<String> lines(Path path) throws IOException {
        return Files.exists(path) ? Files.readAllLines(path, StandardCharsets.UTF_8) : List.of();
    }

    /**
     * The integer counts of filter-stats records, added up: totals, reasons, priorities,
     * malformed count and bytes, and per-name counts ({@code events/NAME/field}). Listings,
     * limits, labels and float estimates are left out: they depend on how input was split.
     */
    public static Map<String, Long> countTotals(List<JsonNode> records) {
        Map<String, Long> totals = new TreeMap<>();
        for (JsonNode record : records) {
            record.fields().forEachRemaining(member -> {
                switch (member.getKey()) {
                    case "format", "window", "input", "plan", "kept_weighted" -> { }
                    case "events" -> member.getValue().forEach(event ->
                            add(totals, "events/" + event.get("name").asText(), event));
                    case "malformed" -> {
                        add(totals, "malformed/count", member.getValue().get("count"));
                        add(totals, "malformed/bytes", member.getValue().get("bytes"));
                    }
                    default -> add(totals, member.getKey(), member.getValue());
                }
            });
        }
        return totals;
    }

    private static void add(Map<String, Long> totals, String path, JsonNode node) {
        if (node == null || node.isNull()) {
            return;
        }
        if (node.isIntegralNumber()) {
            totals.merge(path, node.asLong(), Long::sum);
        } else if (node.isObject()) {
            node.fields().forEachRemaining(member -> {
                if (!member.getKey().equals("name") && !member.getKey().equals("kept_weighted")
                        && !member.getKey().equals("sampling_weight")) {
                    add(totals, path + "/" + member.getKey(), member.getValue());
                }
            });
        }
    }
}
