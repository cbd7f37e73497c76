package dev.trackgate.flink;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The job's configuration: where events come from and go, whose plans it accepts, which fields
 * the filter reads, and the stream's timing. Built from {@code --name value} arguments
 * ({@link #fromArgs}); every option and its default is in {@code streaming/flink/README.md}.
 * Immutable once built and {@link Serializable}, since Flink ships it to every task.
 */
public final class JobConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Kafka bootstrap servers. */
    public final String bootstrap;
    /** Topic of raw NDJSON events (one event per record). */
    public final String eventsTopic;
    /** Compacted topic of signed plan envelopes. */
    public final String controlTopic;
    /** Kept events go to {@code outputPrefix + "P0"} .. {@code "P3"} and {@code "unregistered"}. */
    public final String outputPrefix;
    /** Topic of per-window filter-stats records. */
    public final String statsTopic;
    /** Topic of control-log entries (every envelope offered, per task, with its outcome). */
    public final String controlLogTopic;
    /** The app and environment whose plans are accepted (scope). */
    public final String app;
    /** See {@link #app}. */
    public final String env;
    /** Trusted publisher keys, 64 hex digits each. */
    public final List<String> trustedKeys;
    /** The plan to start with (a signed envelope, verified like any other). */
    public final byte[] initialEnvelope;
    /** Dotted path of the event name. */
    public final String nameField;
    /** Dotted path of the sampling unit. */
    public final String unitField;
    /** {@code line} or {@code field:PATH}. */
    public final String sizeFrom;
    /** Stats window length, milliseconds of Kafka record time. */
    public final long windowMillis;
    /** How far records may arrive out of time order before their window closes. */
    public final long outOfOrdernessMillis;
    /** A block is filtered when it holds this many lines ... */
    public final int blockLines;
    /** ... or this many bytes ... */
    public final int blockBytes;
    /** ... or this long after the last flush (latency bound at low traffic). */
    public final long flushMillis;
    /** Checkpoint interval: also how often kept events become visible (Kafka transactions). */
    public final long checkpointMillis;
    /** Parallelism of the filter (and of reading events). */
    public final int parallelism;
    /** Read the events and control topics up to their current end, then finish (tests, backfills). */
    public final boolean bounded;
    /** Consumer group id, and the transactional id prefix of the sink. */
    public final String groupId;
    /** Malformed lines listed per stats record (all are counted). */
    public final int malformedListed;
    /** Names not in the plan listed one by one per stats record. */
    public final int trackNames;
    /** Largest signed plan envelope accepted, in bytes (the native library checks the range). */
    public final long maxEnvelopeBytes;

    private JobConfig(Map<String, String> options) throws IOException {
        Map<String, String> left = new LinkedHashMap<>(options);
        bootstrap = take(left, "bootstrap", "localhost:9092");
        eventsTopic = take(left, "events-topic", "events.raw");
        controlTopic = take(left, "control-topic", "trackgate.plans");
        outputPrefix = take(left, "output-prefix", "events.");
        statsTopic = take(left, "stats-topic", "trackgate.stats");
        controlLogTopic = take(left, "control-log-topic", "trackgate.control-log");
        app = required(left, "app");
        env = required(left, "env");
        trustedKeys = new ArrayList<>();
        for (String path : required(left, "trusted-keys").split(",")) {
            trustedKeys.add(readKey(Path.of(path.trim())));
        }
        initialEnvelope = Files.readAllBytes(Path.of(required(left, "initial-envelope")));
        nameField = take(left, "name-field", "event");
        unitField = take(left, "unit-field", "unit_id");
        sizeFrom = take(left, "size-from", "line");
        windowMillis = number(left, "window-ms", 60_000);
        outOfOrdernessMillis = number(left, "out-of-orderness-ms", 5_000);
        blockLines = (int) number(left, "block-lines", 4_096);
        blockBytes = (int) number(left, "block-bytes", 1 << 20);
        flushMillis = number(left, "flush-ms", 200);
        checkpointMillis = number(left, "checkpoint-ms", 5_000);
        parallelism = (int) number(left, "parallelism", 1);
        bounded = Boolean.parseBoolean(take(left, "bounded", "false"));
        groupId = take(left, "group-id", "trackgate-" + app + "-" + env);
        malformedListed = (int) number(left, "malformed-listed", 100);
        trackNames = (int) number(left, "track-names", 10_000);
        maxEnvelopeBytes = number(left, "max-envelope-bytes", 32L << 20);
        if (!left.isEmpty()) {
            throw new IllegalArgumentException("unknown option(s): --" + String.join(", --", left.keySet()));
        }
        if (windowMillis <= 0 || blockLines <= 0 || blockBytes <= 0 || flushMillis <= 0 || parallelism <= 0) {
            throw new IllegalArgumentException(
                    "--window-ms, --block-lines, --block-bytes, --flush-ms and --parallelism must be positive");
        }
    }

    /** Parses {@code --name value} pairs; unknown and missing required options are refused. */
    public static JobConfig fromArgs(String[] args) throws IOException {
        Map<String, String> options = new LinkedHashMap<>();
        for (int at = 0; at < args.length; at += 2) {
            if (!args[at].startsWith("--") || at + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got `" + args[at] + "`");
            }
            options.put(args[at].substring(2), args[at + 1]);
        }
        return new JobConfig(options);
    }

    /** The topic of destination {@code index} (0..3: P0..P3, 4: kept without a priority). */
    public String destinationTopic(int index) {
        return outputPrefix + (index < 4 ? "P" + index : "unregistered");
    }

    /** The native library's configuration (streaming/native, {@code StreamConfig}). */
    public String nativeConfigJson() {
        StringBuilder keys = new StringBuilder();
        for (String key : trustedKeys) {
            keys.append(keys.length() == 0 ? "" : ",").append(quote(key));
        }
        return "{\"app\":" + quote(app) + ",\"env\":" + quote(env) + ",\"trusted_keys\":[" + keys + "]"
                + ",\"name_field\":" + quote(nameField) + ",\"unit_field\":" + quote(unitField)
                + ",\"size_from\":" + quote(sizeFrom) + ",\"malformed_listed\":" + malformedListed
                + ",\"track_names\":" + trackNames + ",\"max_envelope_bytes\":" + maxEnvelopeBytes + "}";
    }

    /** A key file from {@code trackgate keygen} ({@code public.key} or {@code public.hex}). */
    static String readKey(Path path) throws IOException {
        String text = Files.readString(path).trim();
        String[] lines = text.split("\n");
        return lines[lines.length - 1].trim();
    }

    /** A JSON string literal. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static String take(Map<String, String> options, String name, String fallback) {
        String value = options.remove(name);
        return value == null ? fallback : value;
    }

    private static String required(Map<String, String> options, String name) {
        String value = options.remove(name);
        if (value == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }

    private static long number(Map<String, String> options, String name, long fallback) {
        String value = options.remove(name);
        try {
            return value == null ? fallback : Long.parseLong(value);
        } catch (NumberFormatException error) {
            throw new IllegalArgumentException("--" + name + ": `" + value + "` is not a whole number");
        }
    }
}
