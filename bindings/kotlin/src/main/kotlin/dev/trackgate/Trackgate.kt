package dev.trackgate

import java.io.Closeable
import java.util.concurrent.ConcurrentHashMap

/**
 * The Kotlin face of a [Gate]: decide events by name while paying, for names seen before, only
 * the cheaper id-based crossing; decide many events in one crossing; close it with `use {}`.
 *
 * This class holds no rules. Every decision is made in Rust by the gate; all this class adds is
 * a name → event-id cache and type conversions, so its answers are always exactly what
 * [Gate.decide] would answer for the same event at the same moment.
 *
 * ### The cache
 * [Gate.resolve] gives an event id valid for the active plan; [Gate.decideId] with it skips
 * passing the name across the boundary. The first [track] of a name resolves it (one extra
 * crossing) and remembers the id. When a new plan is installed the old ids go stale: the gate
 * refuses them without deciding or counting anything, this class then forgets every id and
 * resolves again, so no event is lost or counted twice. Names the plan does not register (or
 * invalid names) are remembered as "decide by name". Plans installed through this class's own
 * [applyPlan], [refreshNow], [onForeground] and [fetchIfDue] also clear the cache at once; plans
 * installed through [gate] directly are noticed at the next stale id. At most
 * [maxCachedNames] names are remembered; others are decided by name, never resolved.
 *
 * ### Cost
 * Every decision goes through the library's scalar entry points (numbers and a name's bytes in,
 * one number out, bound by JNA direct mapping: well under a microsecond; [ScalarPath]): a
 * remembered id by id, a first-seen name by one scalar resolve then by id, an unregistered or
 * invalid name (or any name once the cache is full) by name. The generated calls ([Gate.decide],
 * [Gate.resolve], [Gate.decideId]) cost tens of microseconds per call in JNA's structure
 * handling and are used only if the scalar entry points are unavailable (or the gate was closed,
 * to report it). Same engine calls, same counting either way. [trackAll] is the cheapest per
 * event for many events at once.
 *
 * ### Threads
 * Safe to share between threads: decisions take no lock (the cache is a [ConcurrentHashMap]
 * and the gate's decision path is lock-free). Fetch calls block for the transport's duration:
 * call them off the main thread.
 *
 * ### Lifecycle
 * [close] releases the native gate (when this object owns it); later calls fail with
 * [IllegalStateException]. Prefer `Trackgate.open(options).use { ... }` for scoped use; an app
 * usually keeps one instance for the process lifetime.
 *
 * @property gate The underlying generated binding, for calls this class does not wrap
 *   ([Gate.setUnitId], [Gate.resolve], ...).
 * @property maxCachedNames Most names whose route is remembered.
 * @param ownsGate Whether [close] also closes [gate].
 */
public class Trackgate(
    public val gate: Gate,
    private val ownsGate: Boolean = true,
    public val maxCachedNames: Int = DEFAULT_MAX_CACHED_NAMES,
) : Closeable {
    init {
        require(maxCachedNames >= 0) { "maxCachedNames must be >= 0, was $maxCachedNames" }
    }

    /** How an event name is decided: by its id in the plan it was resolved against, or by name. */
    private sealed class Route {
        class ById(val id: ULong) : Route()
        object ByName : Route()
    }

    private val routes = ConcurrentHashMap<String, Route>()

    /** This gate's token for [ScalarPath], or null to use the generated calls only. */
    private val scalarToken: Long? = if (ScalarPath.available) gate.scalarToken()?.toLong() else null

    /**
     * Decides one event: whether it may leave the device ([Decision.Keep], with the weight to
     * attach) or not ([Decision.Drop], with the first rule that refused it). Never throws for
     * any name: invalid and unregistered names are drops (or kept, if the plan keeps
     * unregistered names) and are counted in the report like every decision.
     *
     * @param name The event name, as the app sends it.
     * @param sizeBytes The event's encoded payload size, for size caps and byte counts (>= 0).
     * @throws IllegalArgumentException if [sizeBytes] is negative.
     * @throws IllegalStateException if this instance was closed.
     */
    public fun track(name: String, sizeBytes: Long): Decision {
        require(sizeBytes >= 0) { "sizeBytes must be >= 0, was $sizeBytes" }
        val token = scalarToken
        if (token != null) trackScalar(token, name, sizeBytes)?.let { return it }
        val size = sizeBytes.toULong()
        repeat(MAX_STALE_RETRIES) {
            when (val route = routeOf(name) ?: return gate.decide(name, size)) {
                Route.ByName -> return gate.decide(name, size)
                is Route.ById -> {
                    val decided = decideById(route.id, size)
                    if (decided != null) return decided
                    // A newer plan is active: every remembered id is stale. Nothing was counted.
                    routes.clear()
                }
            }
        }
        // Plans changing faster than we can resolve: deciding by name is always right.
        return gate.decide(name, size)
    }

    /**
     * [track] through the scalar entry points only, or null when they decided nothing (the
     * token belongs to no open gate): the generated calls then give the proper exception.
     */
    private fun trackScalar(token: Long, name: String, sizeBytes: Long): Decision? {
        repeat(MAX_STALE_RETRIES) {
            val route = routes[name] ?: scalarRouteOf(token, name)
            if (route !is Route.ById) return ScalarPath.decode(ScalarPath.decideName(token, name, sizeBytes))
            val encoded = ScalarPath.trackgate_decide_id_scalar(token, route.id.toLong(), sizeBytes)
            if (encoded != ScalarPath.STALE) return ScalarPath.decode(encoded)
            // A newer plan is active: every remembered id is stale. Nothing was counted.
            routes.clear()
        }
        return ScalarPath.decode(ScalarPath.decideName(token, name, sizeBytes))
    }

    /** [name]'s route, resolved by the scalar entry point and remembered; null when the cache is full. */
    private fun scalarRouteOf(token: Long, name: String): Route? {
        if (routes.size >= maxCachedNames) return null
        val id = ScalarPath.resolve(token, name)
        val route = if (id == ScalarPath.NO_ID) Route.ByName else Route.ById(id.toULong())
        routes[name] = route
        return route
    }

    /**
     * Decides many events in at most two crossings (remembered ids in one, names in the other),
     * which is far cheaper per event than one [track] call each. Results are in input order;
     * every event is decided and counted exactly once, as by [track].
     *
     * @param names The event names.
     * @param sizesBytes One size per name, in bytes (each >= 0).
     * @throws IllegalArgumentException if the arrays differ in length or a size is negative.
     * @throws IllegalStateException if this instance was closed.
     */
    public fun trackAll(names: List<String>, sizesBytes: LongArray): BatchResult {
        require(names.size == sizesBytes.size) {
            "trackAll: ${names.size} names but ${sizesBytes.size} sizes; pass one size per event"
        }
        val count = names.size
        val codes = ByteArray(count)
        val weights = DoubleArray(count)
        val idIndices = IntArray(count)
        val ids = ArrayList<ULong>(count)
        val idSizes = ArrayList<ULong>(count)
        val nameIndices = IntArray(count)
        val byName = ArrayList<String>()
        val nameSizes = ArrayList<ULong>()
        for (index in 0 until count) {
            val size = sizesBytes[index]
            require(size >= 0) { "trackAll: sizesBytes[$index] must be >= 0, was $size" }
            val route = routeOf(names[index])
            if (route is Route.ById) {
                idIndices[ids.size] = index
                ids.add(route.id)
                idSizes.add(size.toULong())
            } else {
                nameIndices[byName.size] = index
                byName.add(names[index])
                nameSizes.add(size.toULong())
            }
        }
        if (ids.isNotEmpty()) {
            val decided = gate.decideIds(ids, idSizes)
            var sawStale = false
            for (position in ids.indices) {
                val index = idIndices[position]
                val code = decided.codes[position]
                if (code == BATCH_CODE_STALE) {
                    // Not decided, not counted: decide it by name with the others below.
                    sawStale = true
                    nameIndices[byName.size] = index
                    byName.add(names[index])
                    nameSizes.add(idSizes[position])
                } else {
                    codes[index] = code
                    weights[index] = decided.weights[position]
                }
            }
            if (sawStale) routes.clear()
        }
        if (byName.isNotEmpty()) {
            val decided = gate.decideBatch(byName, nameSizes)
            for (position in byName.indices) {
                val index = nameIndices[position]
                codes[index] = decided.codes[position]
                weights[index] = decided.weights[position]
            }
        }
        return BatchResult(codes, weights)
    }

    /**
     * Verifies a signed plan envelope (from any channel), persists it and makes it active.
     * A refused plan changes nothing; see [ApplyOutcome].
     */
    public fun applyPlan(envelope: ByteArray): ApplyOutcome =
        gate.applyPlan(envelope).also { if (it is ApplyOutcome.Installed) routes.clear() }

    /**
     * Fetches a plan now through the gate's transport if the schedule allows (at least a minute
     * after the previous request, never during a backoff). Blocks for the request.
     *
     * @throws GateException.NoTransport if the gate was built without a transport.
     */
    public fun refreshNow(): FetchResult = gate.refreshNow().clearedOnInstall()

    /**
     * Tells the gate the app came to the foreground: fetches if the previous request is at least
     * 15 minutes old. Blocks for the request, if one is made.
     *
     * @throws GateException.NoTransport if the gate was built without a transport.
     */
    public fun onForeground(): FetchResult = gate.onForeground().clearedOnInstall()

    /**
     * Fetches a plan if one is due by the schedule (refresh interval, backoff, hourly budget).
     * Blocks for the request, if one is made.
     *
     * @throws GateException.NoTransport if the gate was built without a transport.
     */
    public fun fetchIfDue(): FetchResult = gate.fetchIfDue().clearedOnInstall()

    /** Reads and resets the counts since the last report; upload [TakenReport.json]. */
    public fun takeReport(): TakenReport = gate.takeReport()

    /** What plan is active, where it came from, and how delivery is going. */
    public fun status(): GateStatus = gate.status()

    /**
     * Why [track] would answer what it does now for [name] and [sizeBytes]: the decision and
     * the values behind it (plan version, the refusing rule, cap and size, sampling rate and
     * this unit's sampling value, tokens left). Counts nothing and takes no rate-limit token.
     *
     * @throws IllegalArgumentException if [sizeBytes] is negative.
     */
    public fun explain(name: String, sizeBytes: Long): Explanation {
        require(sizeBytes >= 0) { "sizeBytes must be >= 0, was $sizeBytes" }
        return gate.explain(name, sizeBytes.toULong())
    }

    /** [explain] as readable lines, the text `trackgate explain` prints. */
    public fun explainText(name: String, sizeBytes: Long): String {
        require(sizeBytes >= 0) { "sizeBytes must be >= 0, was $sizeBytes" }
        return gate.explainText(name, sizeBytes.toULong())
    }

    /** The sampling unit in use (persist it if the gate generated it). */
    public val unitId: String get() = gate.unitId()

    /** Releases the native gate if this instance owns it. Idempotent. */
    override fun close() {
        routes.clear()
        if (ownsGate) gate.close()
    }

    /** Forgets every remembered route, as an install through this object does: for measuring first-seen names. */
    internal fun forgetRoutes() = routes.clear()

    private fun FetchResult.clearedOnInstall(): FetchResult = also {
        if (it is FetchResult.Installed) routes.clear()
    }

    /** Decides [id] by the generated call, or null when the id is stale and nothing was counted. */
    private fun decideById(id: ULong, size: ULong): Decision? =
        try {
            gate.decideId(id, size)
        } catch (stale: GateException.StaleEventId) {
            null
        }

    /** The remembered route of [name], resolving it first if needed; null when the cache is full. */
    private fun routeOf(name: String): Route? {
        routes[name]?.let { return it }
        if (routes.size >= maxCachedNames) return null
        val route = try {
            Route.ById(gate.resolve(name))
        } catch (notResolvable: GateException.Unregistered) {
            Route.ByName
        } catch (notResolvable: GateException.InvalidName) {
            Route.ByName
        }
        routes[name] = route
        return route
    }

    /** Factory and constants. */
    public companion object {
        /** Default of [maxCachedNames]: far more distinct event names than an app should have. */
        public const val DEFAULT_MAX_CACHED_NAMES: Int = 4096

        /** Stale-id rounds [track] tries before deciding by name. */
        private const val MAX_STALE_RETRIES = 3

        /**
         * Starts a gate with [options] and wraps it. See [Gate] for what starting does (no
         * network; cached, bundled or fail-policy plan).
         *
         * @throws GateException.InvalidOptions if an option is unusable.
         */
        public fun open(options: GateOptions): Trackgate = Trackgate(Gate(options))
    }
}
