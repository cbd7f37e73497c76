package dev.trackgate.demo

import java.nio.file.Path
import kotlin.system.exitProcess

/*
 * trackgate-demo: a JVM console stand-in for an Android app that embeds trackgate
 * (mobile-demo/README.md). Same options, protocol and exit codes as the Swift demo:
 *
 *   trackgate-demo --server URL --store DIR --phases N --public-key HEX
 *                  [--app NAME] [--env NAME] [--step] [--max-refresh-wait SECONDS] [--refresh-gap SECONDS]
 *
 * stdout carries only the protocol lines (READY, PLAN, PHASE, DONE); everything else goes to
 * stderr. Exit codes: 0 done, 1 the app could not start, 2 bad usage, 3 stopped by "quit".
 */

private const val USAGE = "usage: trackgate-demo --server URL --store DIR --phases N --public-key HEX" +
    " [--app NAME] [--env NAME] [--step] [--max-refresh-wait SECONDS] [--refresh-gap SECONDS]"

private fun usage(problem: String): Nothing {
    log(problem)
    log(USAGE)
    exitProcess(2)
}

private fun parse(arguments: List<String>): DemoApp.Options {
    var server: String? = null
    var store: Path? = null
    var phases: Int? = null
    var publicKey: String? = null
    var app = "shop"
    var env = "prod"
    var step = false
    var maxRefreshWait = 75.0
    var refreshGap = 60
    val iterator = arguments.iterator()
    fun value(flag: String): String = if (iterator.hasNext()) iterator.next() else usage("$flag needs a value")
    while (iterator.hasNext()) {
        when (val flag = iterator.next()) {
            "--server" -> value(flag).let {
                if (!it.startsWith("http://") && !it.startsWith("https://")) usage("--server wants an http(s) URL, got $it")
                server = it.trimEnd('/')
            }
            "--store" -> store = Path.of(value(flag)).toAbsolutePath()
            "--phases" -> phases = value(flag).toIntOrNull()?.takeIf { it > 0 } ?: usage("--phases wants a positive integer")
            "--public-key" -> publicKey = value(flag).trim()
            "--app" -> app = value(flag)
            "--env" -> env = value(flag)
            "--step" -> step = true
            "--max-refresh-wait" ->
                maxRefreshWait = value(flag).toDoubleOrNull()?.takeIf { it >= 0 } ?: usage("--max-refresh-wait wants seconds")
            "--refresh-gap" ->
                refreshGap = value(flag).toIntOrNull()?.takeIf { it in 1..3600 } ?: usage("--refresh-gap wants 1 to 3600 seconds")
            else -> usage("unknown option $flag")
        }
    }
    return DemoApp.Options(
        server = server ?: usage("--server is required"),
        store = store ?: usage("--store is required"),
        phases = phases ?: usage("--phases is required"),
        publicKeyHex = publicKey ?: usage("--public-key is required"),
        app = app,
        env = env,
        step = step,
        maxRefreshWaitSeconds = maxRefreshWait,
        refreshGapSeconds = refreshGap,
    )
}

/** Entry point. */
fun main(arguments: Array<String>) {
    val options = parse(arguments.toList())
    val app = try {
        DemoApp(options)
    } catch (error: Exception) {
        log("cannot start: ${error.message}")
        exitProcess(1)
    }
    val finished = app.use { it.run() }
    exitProcess(if (finished) 0 else 3)
}
