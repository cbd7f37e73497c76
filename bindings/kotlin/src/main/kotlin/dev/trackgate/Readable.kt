package dev.trackgate

/**
 * Readable values. Records are data classes, so `toString()` already shows their fields; these
 * add the texts the library formats once, in Rust, for every language: a report as a table and
 * an explanation as a few lines (the same text as `trackgate explain`).
 */

/** This report as a table: window and totals, one row per event, then unregistered names. */
public fun DropReport.toTable(): String = reportTable(this)

/** The taken report as a table ([DropReport.toTable]); upload [TakenReport.json], not this. */
public fun TakenReport.toTable(): String = reportTable(report)

/** This explanation as readable lines: the decision, then each rule with its values. */
public fun Explanation.toText(): String = explanationText(this)
