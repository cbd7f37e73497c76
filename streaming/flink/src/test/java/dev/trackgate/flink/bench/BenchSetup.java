package dev.trackgate.flink.bench;

import dev.trackgate.flink.JobConfig;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.Trackgate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What the benchmark mains ({@code streaming/flink/bench.sh}) share: their arguments, a work
 * directory with one key, plans of the fixtures' shape signed with it, and the job's options
 * for them; medians and the load average they print.
 */
final class BenchSetup {
    /** The work directory (the first argument). */
    final Path work;
    private final Trackgate.Signer signer;

    private BenchSetup(Path work, Trackgate.Signer signer) {
        this.work = work;
        this.signer = signer;
    }

    /**
     * Checks there are as many arguments as {@code usage} names (exits with the usage otherwise);
     * the first is the work directory, where a fresh key pair is made in {@code main}'s folder.
     */
    static BenchSetup fromArgs(String[] args, String main, String... usage) throws Exception {
        if (args.length != usage.length) {
            System.err.println("usage: " + main + " " + String.join(" ", usage));
            System.exit(2);
        }
        Path work = Path.of(args[0]);
        return new BenchSetup(work, Trackgate.signer(work.resolve(main)));
    }

    /** A plan signed by this set-up's key, and the job's options to decide with it. */
    record SignedPlan(int events, Path json, byte[] envelope, JobConfig config) {}

    /** A plan of {@code events} names of {@code Fixtures.plan}'s shape (app shop, env prod, version 1), signed. */
    SignedPlan sign(String name, int events) throws Exception {
        Path envelope = signer.sign(name, Fixtures.plan("shop", 1, events, "P0"), 1);
        JobConfig config = JobConfig.fromArgs(new String[] {"--app", "shop", "--env", "prod",
            "--trusted-keys", signer.publicKey().toString(), "--initial-envelope", envelope.toString(), "--parallelism", "1"});
        return new SignedPlan(events, signer.directory().resolve(name + ".json"), Files.readAllBytes(envelope), config);
    }

    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int middle = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
    }

    /** The first three fields of /proc/loadavg. */
    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (java.io.IOException unreadable) {
            return "unknown";
        }
    }
}
