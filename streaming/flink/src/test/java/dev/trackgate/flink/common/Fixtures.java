package dev.trackgate.flink.common;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic plans and events for the job's tests: every kind of rule (priorities, sampling,
 * retired names, size caps, unregistered names kept) and every kind of line the filter meets.
 */
public final class Fixtures {
    private Fixtures() {}

    /** Start of the first stats window of generated events (a whole minute, in the past: brokers refuse record times far ahead). */
    public static final long BASE_TIME = 1_700_000_040_000L;

    /** Name of registered event {@code index}. */
    public static String name(int index) {
        return String.format("e.%05d", index);
    }

    /**
     * A plan of {@code events} names: priorities by index, some sampled, some retired, some
     * with their own size cap; unregistered names kept. {@code lowPriority} is the priority of
     * every name whose index is a multiple of 4 (a live swap changes it).
     */
    public static String plan(String app, long version, int events, String lowPriority) {
        StringBuilder text = new StringBuilder();
        text.append("{\"schema\":1,\"app\":\"").append(app).append("\",\"env\":\"prod\",\"version\":").append(version)
                .append(",\"sampling_salt\":\"flink\",\"unregistered\":\"keep\",\"defaults\":{\"max_bytes\":600},\"events\":{");
        for (int index = 0; index < events; index++) {
            String priority = index % 4 == 0 ? lowPriority : "P" + (index % 4);
            text.append(index == 0 ? "" : ",").append('"').append(name(index)).append("\":{\"priority\":\"")
                    .append(priority).append('"');
            if (index % 10 == 3) {
                text.append(",\"sample\":0.5");
            } else if (index % 10 == 7) {
                text.append(",\"sample\":0.1");
            }
            if (index % 17 == 5) {
                text.append(",\"status\":\"retired\"");
            }
            if (index % 23 == 11) {
                text.append(",\"max_bytes\":90");
            }
            text.append('}');
        }
        return text.append("}}").toString();
    }

    /** {@code count} event lines over a plan of {@code events} names, each with a unique {@code id}. */
    public static List<byte[]> events(int count, int events, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<byte[]> lines = new ArrayList<>(count);
        for (int id = 0; id < count; id++) {
            int roll = random.nextInt(100);
            String name = roll < 92 ? name(random.nextInt(events)) : "x.unknown_" + random.nextInt(40);
            String unit = "u" + random.nextInt(20_000);
            String pad = roll == 0 ? ",\"pad\":\"" + "y".repeat(700) + "\"" : "";
            String line = "{\"id\":" + id + ",\"event\":\"" + name + "\",\"unit_id\":\"" + unit
                    + "\",\"props\":{\"n\":" + random.nextInt(1000) + ",\"ok\":true}" + pad + "}";
            lines.add(line.getBytes(StandardCharsets.UTF_8));
        }
        return lines;
    }

    /** Record times spread evenly over {@code windows} windows of {@code windowMillis}. */
    public static long[] timestamps(int count, int windows, long windowMillis) {
        long[] times = new long[count];
        for (int index = 0; index < count; index++) {
            times[index] = BASE_TIME + (long) index * windows * windowMillis / count;
        }
        return times;
    }

    /** The lines joined as an NDJSON file would hold them (each followed by a newline). */
    public static byte[] ndjson(List<byte[]> lines) {
        int size = lines.stream().mapToInt(line -> line.length + 1).sum();
        byte[] joined = new byte[size];
        int at = 0;
        for (byte[] line : lines) {
            System.arraycopy(line, 0, joined, at, line.length);
            at += line.length;
            joined[at++] = '\n';
        }
        return joined;
    }
}
