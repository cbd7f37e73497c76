import Foundation

// Readable values. Generated structs already print their fields (Swift's reflection); these
// add the texts the library formats once, in Rust, for every language: a report prints as a
// table and an explanation as a few lines (the same text as `trackgate explain`).

extension DropReport: CustomStringConvertible {
    /// The report as a table: window and totals, one row per event, then unregistered names.
    public var description: String { reportTable(report: self) }
}

extension TakenReport {
    /// The report as a table (``DropReport/description``); upload `json`, not this.
    public var table: String { reportTable(report: report) }
}

extension Explanation: CustomStringConvertible {
    /// The decision, then each rule with the values it read.
    public var description: String { explanationText(explanation: self) }
}
