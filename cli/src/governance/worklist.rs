//! Worklists as terminal text and as the HTML report's section. Pure text generation.

use std::fmt::Write as _;

use trackgate_governance::proposal::DailySaving;
use trackgate_governance::worklist::{WorkItem, Worklists};

use crate::format::{bytes, count, html, money};
use crate::report::text::table;

fn per_day(saving: &DailySaving, currency: &str) -> (String, String, String) {
    (
        count(saving.events_per_day.round() as u64),
        bytes(saving.bytes_per_day.round() as u64),
        format!("{} {currency}", money(saving.cost_per_day)),
    )
}

fn held_back(item: &WorkItem) -> String {
    item.blocked_by
        .iter()
        .map(|block| {
            format!(
                "{} ({})",
                serde_json::to_value(block.guardrail)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                block.reason
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The worklists as aligned text.
pub fn text(lists: &Worklists) -> String {
    let mut output = String::new();
    let _ = writeln!(output, "Worklists for {} at {} (savings per day)", lists.plan, lists.now);
    if lists.owners.is_empty() {
        output.push_str("\n  nothing to confirm\n");
    }
    for list in &lists.owners {
        let (events, size, cost) = per_day(&list.pending_saving, &lists.currency);
        let _ = write!(output, "\n{}: {} to confirm", list.owner, list.to_confirm.len());
        if let Some(deadline) = list.next_deadline {
            let _ = write!(output, " by {deadline}, saving {events} events, {size}, {cost} per day");
        }
        let _ = writeln!(
            output,
            " ({} auto-applied, {} accepted, {} rejected, {} expired)",
            list.auto_applied.len(),
            list.accepted,
            list.rejected,
            list.expired
        );
        if !list.to_confirm.is_empty() {
            let rows: Vec<Vec<String>> = list
                .to_confirm
                .iter()
                .map(|item| {
                    let (events, size, cost) = per_day(&item.saving, &lists.currency);
                    vec![item.id.clone(), item.deadline.to_string(), events, size, cost, item.how.clone()]
                })
                .collect();
            table(&mut output, &["confirm", "by", "events/day", "bytes/day", "cost/day", "edit"], &rows);
            for item in list.to_confirm.iter().filter(|item| !item.blocked_by.is_empty()) {
                let _ = writeln!(output, "    {} held back from automatic application: {}", item.id, held_back(item));
            }
        }
        for item in &list.auto_applied {
            let (events, _, cost) = per_day(&item.saving, &lists.currency);
            let _ = writeln!(output, "    auto-applied: {} ({}; {events} events, {cost} per day)", item.id, item.how);
        }
    }
    output
}

/// The worklists as an HTML section (`<h2>` and one table per owner), inputs escaped.
pub fn html_section(lists: &Worklists) -> String {
    let mut page = String::new();
    let _ = writeln!(
        page,
        "<h2 id=\"worklists\">Owner worklists</h2>\n<p>Proposal for {} at {}: what each owner confirms, by when, and what it saves per day.</p>",
        html(&lists.plan),
        html(&lists.now.to_string())
    );
    if lists.owners.is_empty() {
        page.push_str("<p id=\"worklists-none\">Nothing to confirm.</p>\n");
    }
    for list in &lists.owners {
        let (events, size, cost) = per_day(&list.pending_saving, &lists.currency);
        let _ = writeln!(
            page,
            "<h3>{}</h3>\n<p>{} to confirm{}; {} auto-applied, {} accepted, {} rejected, {} expired.</p>",
            html(&list.owner),
            list.to_confirm.len(),
            list.next_deadline.map_or(String::new(), |deadline| format!(
                " by {}, saving {events} events, {size}, {} per day",
                html(&deadline.to_string()),
                html(&cost)
            )),
            list.auto_applied.len(),
            list.accepted,
            list.rejected,
            list.expired
        );
        if list.to_confirm.is_empty() && list.auto_applied.is_empty() {
            continue;
        }
        page.push_str(
            "<table class=\"worklist\"><tr><th>change</th><th>state</th><th>by</th><th>events/day</th><th>bytes/day</th>\
             <th>cost/day</th><th>edit</th><th>held back by</th></tr>\n",
        );
        let rows = list
            .to_confirm
            .iter()
            .map(|item| ("to confirm", item))
            .chain(list.auto_applied.iter().map(|item| ("auto-applied", item)));
        for (state, item) in rows {
            let (events, size, cost) = per_day(&item.saving, &lists.currency);
            let _ = writeln!(
                page,
                "<tr><td class=\"text\">{}</td><td class=\"text\">{state}</td><td class=\"text\">{}</td><td>{events}</td><td>{size}</td>\
                 <td>{}</td><td class=\"text\"><code>{}</code></td><td class=\"text\">{}</td></tr>",
                html(&item.id),
                html(&item.deadline.to_string()),
                html(&cost),
                html(&item.how),
                html(&held_back(item))
            );
        }
        page.push_str("</table>\n");
    }
    page
}
