// The quickstart's Kotlin app (docs/quickstart.md): fetches the signed plan from `trackgate
// serve`, decides a few events, and uploads the drop report to the server's collector.
//
//   java -jar target/shop-app.jar SERVER_URL PUBLIC_HEX_FILE STORE_DIR
//
// Prints one line per decision and exits 0; exits 1 if no plan could be installed.
package shop

import dev.trackgate.Decision
import dev.trackgate.FailPolicy
import dev.trackgate.FetchResult
import dev.trackgate.GateOptions
import dev.trackgate.HttpURLConnectionTransport
import dev.trackgate.Trackgate
import dev.trackgate.TrustedKey
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    require(args.size == 3) { "usage: shop-app SERVER_URL PUBLIC_HEX_FILE STORE_DIR" }
    val (server, publicHexFile, store) = args

    Trackgate.open(
        GateOptions(
            app = "shop",
            env = "prod",
            trustedKeys = listOf(TrustedKey.Hex(File(publicHexFile).readText().trim())),
            storeDirectory = store,
            failPolicy = FailPolicy.KEEP_P0_ONLY,
            planUrl = "$server/v1/plans/shop/prod",
            transport = HttpURLConnectionTransport(),
        ),
    ).use { gate ->
        // Apps call onForeground() (it fetches when due); refreshNow() fetches at once.
        when (val fetched = gate.refreshNow()) {
            is FetchResult.Installed -> println("plan version ${fetched.version} installed")
            else -> {
                System.err.println("no plan installed: $fetched (${gate.status().lastError})")
                exitProcess(1)
            }
        }

        for ((name, size) in listOf(
            "checkout.completed" to 512L,
            "legacy.banner_seen" to 64L,
            "photo.uploaded" to 2_000_000L,
            "serach.typed" to 16L,
        )) {
            when (val decision = gate.track(name, size)) {
                is Decision.Keep -> println("$name: keep (weight ${decision.weight})")
                is Decision.Drop -> println("$name: drop (${decision.reason.name.lowercase()})")
            }
        }

        val taken = gate.takeReport()
        val status = upload("$server/v1/collect", taken.json)
        println("report: ${taken.report.offered} offered, ${taken.report.kept} kept, upload HTTP $status")
    }
}

/** POSTs the drop report as the server's collector takes it; returns the HTTP status. */
fun upload(url: String, json: String): Int {
    val connection = URI(url).toURL().openConnection() as HttpURLConnection
    try {
        connection.requestMethod = "POST"
        connection.doOutput = true
        connection.setRequestProperty("Content-Type", "application/json")
        connection.outputStream.use { it.write(json.toByteArray()) }
        return connection.responseCode
    } finally {
        connection.disconnect()
    }
}
