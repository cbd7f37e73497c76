package dev.trackgate.flink.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trackgate.flink.NativeStream;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.JobHarness;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The crossing's own cost per block (part of {@link ThroughputBench}; a benchmark, no test runs
 * it): what moving one block of lines between the JVM and the Rust library costs, apart from
 * the filter's own work.
 *
 * <p>Both sides take the same block (the first {@code --block-lines} lines the job benchmark
 * uses, joined as the operator joins them) and the same signed plan. In this JVM, loops in the
 * style of a micro-benchmark harness (warm-up samples, then timed samples of many calls,
 * medians) time what {@code EnforceOperator} does per block outside Flink: packing the records
 * into the direct buffer, {@link NativeStream#filter} (the JNA call, the Rust filter and the
 * view of the packed result), and copying each kept line into its own array; and the same call
 * on an empty block, which the library answers at once (the call's fixed cost). In Rust, the
 * example {@code streaming/native/examples/block_time.rs} (path in
 * {@code -Dtrackgate.block-time}) times {@code StreamFilter::filter_block} on the same bytes
 * with no JVM in the way. The crossing is the JVM's whole per-block time minus that Rust-only
 * time: the JNA call, the C ABI's packing of the result, its view, and the JVM's packing and
 * unpacking.
 *
 * <p>That difference is taken two ways. Whole: the JVM's whole per-block time minus the Rust
 * filter's, from the fastest samples of each (noise only ever adds time), per round. On a
 * shared machine this difference of two large figures taken a second apart moves by more than
 * the crossing itself, so the figure given is the sum of the parts, each measured on its own:
 * the JVM's packing and unpacking, the call on an empty block (the JNA call's fixed cost, the
 * library's entry and exit and the result's view), and the C ABI's packing of the kept lines
 * (the Rust call minus the Rust filter, timed sample by sample in one process). The two sides
 * take turns over {@link #ROUNDS} rounds; figures are medians over the rounds.
 */
final class CrossingBench {
    private CrossingBench() {}

    private static final int ROUNDS = 5;
    /** Calls per timed sample for a block (a few milliseconds each), and timed samples per round. */
    private static final int BLOCK_CALLS = 20;
    private static final int SAMPLES = 11;

    /**
     * One round's figures, in nanoseconds per block (per call for {@code emptyCall}): medians of
     * the samples, and the fastest sample of the whole JVM path and of the Rust filter.
     */
    record Round(double pack, double call, double unpack, double whole, double emptyCall, double rustFilter,
            double rustCall, double rustPacking, double wholeFastest, double rustFilterFastest) {
        /** The crossing as the sum of its parts. */
        double crossing() {
            return pack + unpack + emptyCall + rustPacking;
        }
    }

    /** Medians over the rounds, in nanoseconds per block (per call for {@code emptyCall}). */
    record Figures(int lines, int bytes, double pack, double call, double unpack, double whole, double emptyCall,
            double rustFilter, double rustCall, double rustPacking, double crossing, double crossingMin,
            double crossingMax, double wholeMinusRust) {}

    /** Where unpacked lengths go, so the copies are not optimised away. */
    static long sink;

    /** Measures {@code plan} on the first {@code --block-lines} of {@code events}. */
    static Figures measure(BenchSetup setup, BenchSetup.SignedPlan plan, List<byte[]> events) throws Exception {
        List<byte[]> lines = events.subList(0, Math.min(events.size(), plan.config().blockLines));
        byte[] joined = Fixtures.ndjson(lines);
        Path blockFile = setup.work.resolve("block-" + plan.events() + ".ndjson");
        Path configFile = setup.work.resolve("native-config.json");
        Path envelopeFile = setup.work.resolve("block-" + plan.events() + ".tgplan");
        Files.write(blockFile, joined);
        Files.writeString(configFile, plan.config().nativeConfigJson());
        Files.write(envelopeFile, plan.envelope());

        List<Round> rounds = new ArrayList<>();
        try (NativeStream stream = NativeStream.open(plan.config().nativeConfigJson())) {
            if (stream.offer(plan.envelope(), System.currentTimeMillis() / 1000, false).outcome()
                    != NativeStream.Outcome.INSTALLED) {
                throw new IllegalStateException("the plan was refused");
            }
            ByteBuffer block = ByteBuffer.allocateDirect(plan.config().blockBytes + 64 * 1024);
            ByteBuffer empty = ByteBuffer.allocateDirect(1);
            for (int round = 0; round < ROUNDS; round++) {
                JsonNode rust = rustBlockTime(configFile, envelopeFile, blockFile);
                // The first round warms the JIT up with more samples.
                int warmUp = round == 0 ? 10 : 1;
                List<Double> pack = perCall(warmUp, BLOCK_CALLS, () -> pack(block, lines));
                pack(block, lines);
                List<Double> call = perCall(warmUp, BLOCK_CALLS, () -> stream.filter(block, joined.length));
                NativeStream.Block result = stream.filter(block, joined.length);
                List<Double> unpack = perCall(warmUp, BLOCK_CALLS, () -> unpack(result));
                List<Double> whole = perCall(warmUp, BLOCK_CALLS, () -> unpack(stream.filter(pack(block, lines), joined.length)));
                List<Double> emptyCall = perCall(warmUp, 1_000 * BLOCK_CALLS, () -> stream.filter(empty, 0));
                Round figures = new Round(BenchSetup.median(pack), BenchSetup.median(call), BenchSetup.median(unpack),
                        BenchSetup.median(whole), BenchSetup.median(emptyCall), rust.get("filter_ns").asDouble(),
                        rust.get("call_ns").asDouble(), rust.get("packing_ns").asDouble(), Collections.min(whole),
                        rust.get("filter_ns_min").asDouble());
                rounds.add(figures);
                System.out.printf("crossing round %d: parts %.0f us; JVM whole %.0f us (fastest %.0f), Rust filter_block %.0f us "
                        + "(fastest %.0f); load %s%n", round + 1, figures.crossing() / 1e3, figures.whole() / 1e3,
                        figures.wholeFastest() / 1e3, figures.rustFilter() / 1e3, figures.rustFilterFastest() / 1e3,
                        BenchSetup.loadAverage());
            }
        }
        return new Figures(lines.size(), joined.length, median(rounds, Round::pack), median(rounds, Round::call),
                median(rounds, Round::unpack), median(rounds, Round::whole), median(rounds, Round::emptyCall),
                median(rounds, Round::rustFilter), median(rounds, Round::rustCall), median(rounds, Round::rustPacking),
                median(rounds, Round::crossing), rounds.stream().mapToDouble(Round::crossing).min().orElseThrow(),
                rounds.stream().mapToDouble(Round::crossing).max().orElseThrow(),
                median(rounds, round -> round.wholeFastest() - round.rustFilterFastest()));
    }

    /** The block as the operator builds it: each record, then a newline; flipped for the call. */
    private static ByteBuffer pack(ByteBuffer block, List<byte[]> lines) {
        block.clear();
        for (byte[] line : lines) {
            block.put(line).put((byte) '\n');
        }
        return block.flip();
    }

    /** Every kept line copied into its own array, as the operator emits them. */
    private static void unpack(NativeStream.Block result) {
        for (int destination = 0; destination < NativeStream.DESTINATIONS; destination++) {
            result.forEachKept(destination, line -> sink += line.length);
        }
    }

    private interface Work {
        void run() throws Exception;
    }

    /** Nanoseconds per call of {@code work}: {@code warmUp} untimed samples, then {@link #SAMPLES} timed ones, of {@code calls} calls each. */
    private static List<Double> perCall(int warmUp, int calls, Work work) throws Exception {
        List<Double> samples = new ArrayList<>();
        for (int sample = 0; sample < warmUp + SAMPLES; sample++) {
            long started = System.nanoTime();
            for (int call = 0; call < calls; call++) {
                work.run();
            }
            if (sample >= warmUp) {
                samples.add((double) (System.nanoTime() - started) / calls);
            }
        }
        return samples;
    }

    private static double median(List<Round> rounds, ToDoubleFunction<Round> figure) {
        List<Double> values = new ArrayList<>();
        rounds.forEach(round -> values.add(figure.applyAsDouble(round)));
        return BenchSetup.median(values);
    }

    private static JsonNode rustBlockTime(Path config, Path envelope, Path block) throws Exception {
        String tool = System.getProperty("trackgate.block-time");
        if (tool == null || !Files.isExecutable(Path.of(tool))) {
            throw new IllegalStateException("set -Dtrackgate.block-time to the built block_time example (got " + tool + ")");
        }
        Process process = new ProcessBuilder(tool, config.toString(), envelope.toString(), block.toString(),
                Long.toString(System.currentTimeMillis() / 1000), Integer.toString(SAMPLES), Integer.toString(BLOCK_CALLS))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(300, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("block_time failed: " + output);
        }
        return JobHarness.json(output);
    }
}
