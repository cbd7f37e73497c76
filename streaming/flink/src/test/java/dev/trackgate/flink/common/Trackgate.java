package dev.trackgate.flink.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real {@code trackgate} CLI (path in the system property {@code trackgate.cli}): keys,
 * signed envelopes, and the filter the job must agree with.
 */
public final class Trackgate {
    private Trackgate() {}

    /** Runs the CLI with {@code args}, failing with its stderr on a non-zero exit; returns stderr. */
    public static String run(String... args) throws Exception {
        return execute(null, args);
    }

    /** Runs the CLI with {@code args} as {@link #run} does; returns what it printed on stdout. */
    public static String output(String... args) throws Exception {
        Path printed = Files.createTempFile("trackgate-cli", ".out");
        try {
            execute(printed, args);
            return Files.readString(printed, StandardCharsets.UTF_8);
        } finally {
            Files.delete(printed);
        }
    }

    /** Runs the CLI, its stdout into {@code stdout} (discarded when null); returns stderr. */
    private static String execute(Path stdout, String... args) throws Exception {
        String cli = System.getProperty("trackgate.cli");
        if (cli == null || !Files.isExecutable(Path.of(cli))) {
            throw new IllegalStateException("set -Dtrackgate.cli to the built trackgate binary (got " + cli + ")");
        }
        List<String> command = new ArrayList<>();
        command.add(cli);
        command.addAll(List.of(args));
        Path errors = Files.createTempFile("trackgate-cli", ".err");
        Process process = new ProcessBuilder(command)
                .redirectOutput(stdout == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(stdout.toFile()))
                .redirectError(errors.toFile())
                .start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("trackgate " + String.join(" ", args) + " did not finish in 120 s");
        }
        String stderr = Files.readString(errors, StandardCharsets.UTF_8);
        Files.delete(errors);
        if (process.exitValue() != 0) {
            throw new IllegalStateException("trackgate " + String.join(" ", args) + " exited "
                    + process.exitValue() + ": " + stderr);
        }
        return stderr;
    }

    /** A new key pair in {@code directory}; returns the path of its public key file. */
    public static Path keygen(Path directory) throws Exception {
        run("keygen", "--out", directory.toString());
        return directory.resolve("public.key");
    }

    /** A key pair in {@code directory}/keys, and plans signed with it into {@code directory}. */
    public record Signer(Path directory, Path publicKey) {
        /** Signs {@code planJson} as {@code version} into {@code name}.json and {@code name}.tgplan; returns the envelope's path. */
        public Path sign(String name, String planJson, long version) throws Exception {
            return build(directory, name, planJson, directory.resolve("keys"), version);
        }
    }

    /** A new key pair for signing into {@code directory}. */
    public static Signer signer(Path directory) throws Exception {
        return new Signer(directory, keygen(directory.resolve("keys")));
    }

    /** Signs {@code planJson} as {@code version}; returns the envelope's path. */
    public static Path build(Path directory, String name, String planJson, Path keys, long version)
            throws Exception {
        Path plan = directory.resolve(name + ".json");
        Files.writeString(plan, planJson);
        Path envelope = directory.resolve(name + ".tgplan");
        run("build", plan.toString(), "--key", keys.resolve("signing.key").toString(),
                "--version", Long.toString(version), "--expires", "1d", "--out", envelope.toString());
        return envelope;
    }

    /** Output files of {@code filter --split-by-priority}, in destination order (P0..P3, unregistered). */
    public static final List<String> SPLIT_FILES =
            List.of("P0.ndjson", "P1.ndjson", "P2.ndjson", "P3.ndjson", "unregistered.ndjson");

    /**
     * Runs {@code trackgate filter --threads 1 --split-by-priority} over {@code lines} with the
     * plan file {@code plan}; returns each destination's kept lines, sorted, and writes the
     * stats to {@code name}.stats.json in {@code directory}.
     */
    public static List<List<String>> filter(Path directory, String name, Path plan, List<byte[]> lines)
            throws Exception {
        Path input = directory.resolve(name + ".ndjson");
        Files.write(input, Fixtures.ndjson(lines));
        Path split = directory.resolve(name + ".split");
        run("filter", "--plan", plan.toString(), "--threads", "1", "--split-by-priority", split.toString(),
                "--stats", directory.resolve(name + ".stats.json").toString(), input.toString());
        List<List<String>> kept = new ArrayList<>();
        for (String file : SPLIT_FILES) {
            Path path = split.resolve(file);
            List<String> found = new ArrayList<>(Files.exists(path) ? Files.readAllLines(path, StandardCharsets.UTF_8) : List.of());
            java.util.Collections.sort(found);
            kept.add(found);
        }
        return kept;
    }

    /** Reads a file's bytes. */
    public static byte[] bytes(Path path) throws IOException {
        return Files.readAllBytes(path);
    }
}
