package dev.trackgate.support

import dev.trackgate.FailPolicy
import dev.trackgate.Gate
import dev.trackgate.GateOptions
import dev.trackgate.HttpTransport
import dev.trackgate.TrustedKey
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** The scope every test plan is signed for. */
const val APP = "shop"
const val ENV = "prod"

/**
 * The `trackgate` CLI that test.sh built (system property `trackgate.cli`), run as a child
 * process. Plans in these tests are signed by the real publisher tools, not by test code.
 */
object Cli {
    val path: String = System.getProperty("trackgate.cli")
        ?: error("system property trackgate.cli is not set: run bindings/kotlin/test.sh")

    /** Runs `trackgate args...`, failing the test with its output unless it exits 0. */
    fun run(vararg args: String): String {
        check(File(path).canExecute()) { "trackgate CLI not found at $path: run bindings/kotlin/test.sh" }
        val process = ProcessBuilder(path, *args).redirectErrorStream(true).start()
        val output = process.inputStream.bufferedReader().readText()
        check(process.waitFor(60, TimeUnit.SECONDS)) { "trackgate ${args.joinToString(" ")} did not finish" }
        check(process.exitValue() == 0) { "trackgate ${args.joinToString(" ")} exited ${process.exitValue()}:\n$output" }
        return output
    }
}

/** A plan document for `shop/prod`; `extra` is empty or top-level fields ending with a comma. */
fun plan(version: Long, extra: String = "", events: String): String =
    """{"schema": 1, "app": "$APP", "env": "$ENV", "version": $version, $extra "events": {$events}}"""

/** One event per single-rule outcome, as the Rust FFI tests use. */
fun standardPlan(version: Long): String = plan(
    version,
    events = """
        "checkout.completed": {"priority": "P0"},
        "legacy.banner_seen": {"priority": "P3", "status": "retired"},
        "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
        "scroll.depth": {"priority": "P2", "sample": 0},
        "search.typed": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 1}}
    """,
)

/**
 * A publisher key pair made by `trackgate keygen` in [directory], and envelopes signed with it
 * by `trackgate build`.
 */
class Publisher(private val directory: Path) {
    init {
        Cli.run("keygen", "--out", directory.resolve("keys").toString())
    }

    /** The public key's 64 hex digits and a newline, as `trackgate keygen` writes `public.hex`. */
    val publicKeyHex: String = Files.readString(directory.resolve("keys/public.hex"))

    /** This publisher's key, as a gate trusts it. */
    val trusted: TrustedKey get() = TrustedKey.Hex(publicKeyHex)

    private var builds = 0

    /** Signs [planJson] as [version] and returns the envelope bytes. */
    fun seal(planJson: String, version: Long, extraArgs: List<String> = emptyList()): ByteArray {
        builds += 1
        val json = directory.resolve("plan-$builds.json")
        val out = directory.resolve("plan-$builds.tgplan")
        Files.writeString(json, planJson)
        Cli.run(
            "build", json.toString(), "--key", directory.resolve("keys/signing.key").toString(),
            "--version", version.toString(), "--out", out.toString(), *extraArgs.toTypedArray(),
        )
        return Files.readAllBytes(out)
    }

    /** Signs the [standardPlan] as [version]. */
    fun sealStandard(version: Long): ByteArray = seal(standardPlan(version), version)
}

/** Options for a `shop/prod` gate trusting [publisher], storing in [store]. */
fun options(
    publisher: Publisher,
    store: Path,
    unitId: String? = "install-1",
    transport: HttpTransport? = null,
    planUrl: String? = null,
    bundled: ByteArray? = null,
    failPolicy: FailPolicy = FailPolicy.KEEP_ALL,
): GateOptions = GateOptions(
    app = APP,
    env = ENV,
    trustedKeys = listOf(publisher.trusted),
    storeDirectory = store.toString(),
    failPolicy = failPolicy,
    bundledPlan = bundled,
    unitId = unitId,
    planUrl = planUrl,
    transport = transport,
)

/** A gate for `shop/prod` with [envelope] applied (it must install). */
fun gateWith(publisher: Publisher, store: Path, envelope: ByteArray, unitId: String = "install-1"): Gate {
    val gate = Gate(options(publisher, store, unitId))
    val outcome = gate.applyPlan(envelope)
    check(outcome is dev.trackgate.ApplyOutcome.Installed) { "test plan did not install: $outcome" }
    return gate
}
