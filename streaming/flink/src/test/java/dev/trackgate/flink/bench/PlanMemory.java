package dev.trackgate.flink.bench;

import dev.trackgate.flink.JobConfig;
import dev.trackgate.flink.NativeStream;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What one task's native side holds with a large plan active (a measurement, run by
 * {@code streaming/flink/bench.sh}; no test runs it): the process's resident memory before and
 * after each of {@code HANDLES} native handles (one per task, as {@link dev.trackgate.flink.EnforceOperator}
 * opens them) verifies and installs the same signed plan, and the peak while doing so. The
 * library is loaded (an empty handle opened and closed) before the baseline, so its code is
 * not counted; the Java heap is measured after a full collection each time, so the JVM's own
 * growth can be told apart (bench.sh gives it a fixed, pre-touched heap, so heap pages do not move the RSS).
 *
 * <pre>PlanMemory WORKDIR PLAN_EVENTS HANDLES</pre>
 */
public final class PlanMemory {
    private PlanMemory() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        BenchSetup setup = BenchSetup.fromArgs(args, "PlanMemory", "WORKDIR", "PLAN_EVENTS", "HANDLES");
        int planEvents = Integer.parseInt(args[1]);
        int handles = Integer.parseInt(args[2]);
        BenchSetup.SignedPlan plan = setup.sign("memory-" + planEvents, planEvents);
        byte[] envelopeBytes = plan.envelope();
        JobConfig config = plan.config();
        System.out.printf("%n%,d-event plan: %.1f MB of JSON, signed envelope %.1f MB%n", planEvents,
                Files.size(plan.json()) / 1e6, envelopeBytes.length / 1e6);

        NativeStream.open(config.nativeConfigJson()).close();
        long[] before = sample();
        System.out.printf("baseline (library loaded, no plan): RSS %.1f MB, heap used %.1f MB; load %s%n",
                before[0] / 1e6, before[1] / 1e6, BenchSetup.loadAverage());
        List<NativeStream> open = new ArrayList<>();
        long previous = before[0];
        for (int task = 0; task < handles; task++) {
            long started = System.nanoTime();
            NativeStream stream = NativeStream.open(config.nativeConfigJson());
            NativeStream.Offer offer = stream.offer(envelopeBytes, System.currentTimeMillis() / 1000, false);
            if (offer.outcome() != NativeStream.Outcome.INSTALLED) {
                throw new IllegalStateException("the plan was refused: " + offer.description());
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            open.add(stream);
            long[] now = sample();
            System.out.printf("task %d: plan verified and installed in %.2f s; RSS %.1f MB (+%.1f MB), heap used %.1f MB, "
                    + "peak RSS so far %.1f MB%n", task + 1, seconds, now[0] / 1e6, (now[0] - previous) / 1e6,
                    now[1] / 1e6, now[2] / 1e6);
            previous = now[0];
        }
        open.forEach(NativeStream::close);
    }

    /** RSS, Java heap used (after a full collection) and peak RSS, in bytes. */
    private static long[] sample() throws Exception {
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long rss = 0;
        long peak = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = kilobytes(line) * 1024;
            } else if (line.startsWith("VmHWM:")) {
                peak = kilobytes(line) * 1024;
            }
        }
        return new long[] {rss, heap, peak};
    }

    private static long kilobytes(String statusLine) {
        return Long.parseLong(statusLine.replaceAll("[^0-9]", ""));
    }
}
