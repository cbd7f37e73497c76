package dev.trackgate.flink.bench;

import dev.trackgate.flink.JobConfig;
import dev.trackgate.flink.NativeStream;
import dev.trackgate.flink.Routed;
import dev.trackgate.flink.TrackgateJob;
import dev.trackgate.flink.common.Fixtures;
import dev.trackgate.flink.common.JobHarness;
import dev.trackgate.flink.common.Trackgate;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Throughput of the job's decide path in one task slot, against {@code trackgate filter
 * --threads 1} on the same lines and plan (a benchmark, run by {@code streaming/flink/bench.sh};
 * no test runs it).
 *
 * <p>The job is {@link TrackgateJob#enforce} with parallelism 1 on a local Flink environment
 * (a mini-cluster in this JVM): events come from memory (a number sequence mapped to the
 * generated lines), the signed plan once on the control input (as a compacted control topic
 * holds it), kept lines, stats and the control log go to a sink that counts and discards them.
 * Kafka is not measured. The time of a run is from the first line leaving the source to the
 * sink's end of input; the mini-cluster's start and the job's deployment are outside it, the
 * operator's plan verification inside it. The time inside the native filter call is added up
 * by {@link NativeStream} ({@code -Dtrackgate.measure-crossing=true}); it holds the filter's own
 * work too. The crossing's own cost per block, apart from that work, is {@link CrossingBench}'s,
 * reported in a second table against the job's time per event. The filter's time is its whole
 * process (start, plan load, reading the file, writing kept lines to /dev/null); a run on an
 * empty file gives that fixed part.
 *
 * <pre>ThroughputBench WORKDIR PLAN_EVENTS[,PLAN_EVENTS...] EVENTS RUNS</pre>
 */
public final class ThroughputBench {
    private ThroughputBench() {}

    /** The lines the source emits (the local environment runs every task in this JVM). */
    private static volatile byte[][] lines = new byte[0][];
    private static final AtomicLong FIRST = new AtomicLong();
    private static final AtomicLong LAST = new AtomicLong();
    private static final AtomicLong KEPT = new AtomicLong();

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        BenchSetup setup = BenchSetup.fromArgs(args, "ThroughputBench", "WORKDIR", "PLAN_EVENTS[,PLAN_EVENTS...]", "EVENTS", "RUNS");
        int count = Integer.parseInt(args[2]);
        int runs = Integer.parseInt(args[3]);
        List<String> summary = new ArrayList<>();
        List<String> crossing = new ArrayList<>();
        for (String planArg : args[1].split(",")) {
            String[] rows = measure(setup, Integer.parseInt(planArg.trim()), count, runs);
            summary.add(rows[0]);
            crossing.add(rows[1]);
        }
        System.out.println();
        System.out.println("| plan events | job events/s per slot, median (range) | filter --threads 1 events/s, median (range) | job / filter | "
                + "in the native call, share of the job's time, median (range) | native call ns/event | filter ns/event (net of start and plan load) |");
        System.out.println("|---|---|---|---|---|---|---|");
        summary.forEach(System.out::println);
        System.out.println();
        System.out.println("Crossing per block (CrossingBench; medians of 5 rounds, microseconds per block of the lines below):");
        System.out.println("| plan events | block | JVM: pack | JVM: filter call + view | JVM: unpack | JVM: whole | "
                + "Rust: filter_block | Rust: C call | Rust: C call's packing | empty-block call | "
                + "crossing = pack + unpack + empty call + C packing, median of rounds (range) | check: whole − Rust filter_block, fastest samples | "
                + "crossing ns/event | slot ns/event (job median) | crossing share of the slot's time |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        crossing.forEach(System.out::println);
    }

    /**
     * One plan size: the filter's runs, then a warm-up and {@code runs} runs of the job, then the
     * crossing's own cost per block; returns a row of each table.
     */
    private static String[] measure(BenchSetup setup, int planEvents, int count, int runs) throws Exception {
        String name = "plan-" + planEvents;
        BenchSetup.SignedPlan signed = setup.sign(name, planEvents);
        Path plan = signed.json();
        Path work = setup.work;
        List<byte[]> events = Fixtures.events(count, planEvents, 14);
        Path input = work.resolve(name + ".ndjson");
        Files.write(input, Fixtures.ndjson(events));
        Path empty = work.resolve("empty.ndjson");
        Files.write(empty, new byte[0]);
        System.out.printf("%n%,d-event plan, %,d events, %.1f MB of NDJSON%n", planEvents, count, Files.size(input) / 1e6);

        Path stats = work.resolve(name + ".stats.json");
        Trackgate.run("filter", "--plan", plan.toString(), "--threads", "1", "--stats", stats.toString(), input.toString());
        long expectedKept = JobHarness.json(Files.readString(stats)).get("kept").asLong();
        List<Double> filterSeconds = new ArrayList<>();
        List<Double> emptySeconds = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
            filterSeconds.add(timed(() -> Trackgate.run("filter", "--plan", plan.toString(), "--threads", "1", input.toString())));
            emptySeconds.add(timed(() -> Trackgate.run("filter", "--plan", plan.toString(), "--threads", "1", empty.toString())));
            System.out.printf("filter run %d: %.3f s (%,.0f events/s); empty input %.3f s; load %s%n", run + 1,
                    filterSeconds.get(run), count / filterSeconds.get(run), emptySeconds.get(run), BenchSetup.loadAverage());
        }

        lines = events.toArray(new byte[0][]);
        JobConfig config = signed.config();
        List<Double> jobRates = new ArrayList<>();
        List<Double> shares = new ArrayList<>();
        List<Double> nativeNanos = new ArrayList<>();
        for (int run = 0; run <= runs; run++) {
            long crossingBefore = NativeStream.crossingNanos();
            FIRST.set(0);
            LAST.set(0);
            KEPT.set(-1);
            runJob(config, signed.envelope(), count);
            if (FIRST.get() == 0 || LAST.get() == 0) {
                throw new IllegalStateException("the run's start or end was not seen");
            }
            long elapsed = LAST.get() - FIRST.get();
            long crossing = NativeStream.crossingNanos() - crossingBefore;
            if (KEPT.get() != expectedKept) {
                throw new IllegalStateException("the job kept " + KEPT.get() + " lines, the filter " + expectedKept);
            }
            double rate = count / (elapsed / 1e9);
            double share = (double) crossing / elapsed;
            System.out.printf("job run %d%s: %.3f s (%,.0f events/s), native call %.3f s (%.1f %%), kept %,d; load %s%n",
                    run, run == 0 ? " (warm-up, not counted)" : "", elapsed / 1e9, rate, crossing / 1e9, 100 * share,
                    KEPT.get(), BenchSetup.loadAverage());
            if (run > 0) {
                jobRates.add(rate);
                shares.add(share);
                nativeNanos.add((double) crossing / count);
            }
        }
        lines = new byte[0][];

        CrossingBench.Figures block = CrossingBench.measure(setup, signed, events);

        List<Double> filterRates = new ArrayList<>();
        filterSeconds.forEach(seconds -> filterRates.add(count / seconds));
        double netFilterNanos = (BenchSetup.median(filterSeconds) - BenchSetup.median(emptySeconds)) * 1e9 / count;
        double jobRate = BenchSetup.median(jobRates);
        String throughput = String.format("| %,d | %,.0f (%,.0f–%,.0f) | %,.0f (%,.0f–%,.0f) | %.2f | %.1f %% (%.1f–%.1f %%) | %.0f | %.0f |",
                planEvents, jobRate, Collections.min(jobRates), Collections.max(jobRates),
                BenchSetup.median(filterRates), Collections.min(filterRates), Collections.max(filterRates),
                jobRate / BenchSetup.median(filterRates), 100 * BenchSetup.median(shares), 100 * Collections.min(shares),
                100 * Collections.max(shares), BenchSetup.median(nativeNanos), netFilterNanos);
        double slotNanos = 1e9 / jobRate;
        double crossingPerEvent = block.crossing() / block.lines();
        String crossing = String.format("| %,d | %,d lines, %,d bytes | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.0f (%.0f–%.0f) | %.0f | %.1f | %.0f | %.1f %% |",
                planEvents, block.lines(), block.bytes(), block.pack() / 1e3, block.call() / 1e3, block.unpack() / 1e3,
                block.whole() / 1e3, block.rustFilter() / 1e3, block.rustCall() / 1e3, block.rustPacking() / 1e3,
                block.emptyCall() / 1e3, block.crossing() / 1e3, block.crossingMin() / 1e3, block.crossingMax() / 1e3,
                block.wholeMinusRust() / 1e3, crossingPerEvent, slotNanos, 100 * crossingPerEvent / slotNanos);
        return new String[] {throughput, crossing};
    }

    /** One bounded run of the decide path, parallelism 1, from memory to the counting sink. */
    private static void runJob(JobConfig config, byte[] envelope, int count) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        DataStream<byte[]> events = env.fromSequence(0, count - 1)
                .map(new Line())
                .returns(PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .name("lines from memory");
        DataStream<byte[]> control = env.fromData(List.of(envelope), PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        TrackgateJob.enforce(events, control, config).sinkTo(new CountingSink()).name("count and discard");
        env.execute("trackgate throughput");
    }

    /** Line {@code index} of the generated events; notes when the first one leaves. */
    private static final class Line implements MapFunction<Long, byte[]> {
        @Override
        public byte[] map(Long index) {
            if (index == 0) {
                FIRST.set(System.nanoTime());
            }
            return lines[index.intValue()];
        }
    }

    /** Counts kept lines (records for {@code events.*} topics), discards everything, notes the end of input. */
    private static final class CountingSink implements Sink<Routed> {
        @Override
        public SinkWriter<Routed> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                private long kept;

                @Override
                public void write(Routed routed, Context context) {
                    if (routed.topic.startsWith("events.")) {
                        kept++;
                    }
                }

                @Override
                public void flush(boolean endOfInput) {
                    if (endOfInput) {
                        LAST.set(System.nanoTime());
                        KEPT.set(kept);
                    }
                }

                @Override
                public void close() {}
            };
        }
    }

    private interface Work {
        void run() throws Exception;
    }

    private static double timed(Work work) throws Exception {
        long started = System.nanoTime();
        work.run();
        return (System.nanoTime() - started) / 1e9;
    }
}
