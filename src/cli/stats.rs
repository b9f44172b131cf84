//! `orch stats`: the figures, for people and machines.

use std::fmt::Write;

use clap::{Args, ValueEnum};

use crate::error::Result;
use crate::repo::Repo;
use crate::stats::{self, By, Figures, Spread, Window};
use crate::ui::{Style, Ui};
use crate::{calendar, exit, json};

/// How the work is going: runs, outcomes, durations, first-attempt pass
/// rates, retries, task completion times, tokens and cost.
///
/// Read from the run records (the truth) and the tasks. Runs count when
/// they started in [--since, --until]. Cost is kept apart by kind:
/// reported by agents, estimated from prices, and unknown (counted, never
/// summed as 0).
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub queue: super::queue::QueueArg,
    /// Only runs started from this day (in TZ's zone) or time on.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only runs started up to this day (inclusive) or time (exclusive).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Also break the figures down by workflow, gate, agent or worker.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub by: Option<ByArg>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ByArg {
    Workflow,
    Gate,
    Agent,
    Worker,
}

impl From<ByArg> for By {
    fn from(b: ByArg) -> By {
        match b {
            ByArg::Workflow => By::Workflow,
            ByArg::Gate => By::Gate,
            ByArg::Agent => By::Agent,
            ByArg::Worker => By::Worker,
        }
    }
}

pub fn execute(args: &StatsArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let day =
        |flag: &str, v: &Option<String>, f: fn(&str) -> Option<chrono::DateTime<chrono::Utc>>| {
            v.as_deref()
                .map(|s| f(s).ok_or_else(|| calendar::bad_day(flag, s)))
                .transpose()
        };
    let window = Window {
        since: day("--since", &args.since, calendar::since)?,
        until: day("--until", &args.until, calendar::until)?,
    };
    let queue = crate::queue::Queue::connect(repo, args.queue.url())?;
    let s = stats::compute(&queue, window, args.by.map(Into::into))?;
    for id in &s.unreadable {
        ui.warn(&format!("skipping run {id}: its record cannot be read"));
    }
    if args.json {
        ui.out(&json::to_pretty_string(&s));
    } else {
        ui.out(&render(ui, &s));
    }
    Ok(exit::SUCCESS)
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("{s:.1}s"))
}

fn spread(s: &Spread) -> String {
    if s.count == 0 {
        "-".to_string()
    } else {
        format!(
            "mean {}, median {} ({})",
            secs(s.mean_s),
            secs(s.median_s),
            s.count
        )
    }
}

fn cost(f: &Figures) -> String {
    let sp = &f.spend;
    let mut parts = Vec::new();
    if let Some(usd) = sp.reported_usd {
        parts.push(format!("${usd:.4} reported ({})", sp.reported));
    }
    if let Some(usd) = sp.estimated_usd {
        parts.push(format!("${usd:.4} estimated ({})", sp.estimated));
    }
    if sp.cost_unknown > 0 {
        parts.push(format!("unknown for {}", sp.cost_unknown));
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

fn render(ui: &Ui, s: &stats::Stats) -> String {
    let mut out = String::new();
    let t = &s.total;
    let window = match (&s.since, &s.until) {
        (None, None) => "all runs".to_string(),
        (a, b) => format!(
            "runs started {} to {}",
            a.as_deref().unwrap_or("the start"),
            b.as_deref().unwrap_or("now")
        ),
    };
    let _ = writeln!(out, "{}", ui.paint(Style::Bold, &window));
    let _ = writeln!(
        out,
        "  runs        {} ({} passed, {} failed, {} other); success rate {}",
        t.runs,
        t.passed,
        t.failed,
        t.runs - t.passed - t.failed,
        pct(t.success_rate)
    );
    let _ = writeln!(out, "  duration    {}", spread(&t.duration));
    let _ = writeln!(
        out,
        "  attempts    {} ({} retries); first-attempt pass rate {}",
        t.attempts,
        t.retries,
        pct(t.first_attempt_pass_rate)
    );
    let _ = writeln!(
        out,
        "  tasks       {} done, {} failed; claimed → done {}",
        t.tasks_done,
        t.tasks_failed,
        spread(&t.task_completion)
    );
    let sp = &t.spend;
    let unknown_tokens = if sp.tokens_unknown > 0 {
        format!(" ({} invocation(s) reported none)", sp.tokens_unknown)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  agents      {} invocation(s); tokens {} in / {} out{unknown_tokens}",
        sp.invocations, sp.input_tokens, sp.output_tokens
    );
    let _ = writeln!(out, "  cost        {}", cost(t));
    if !s.tasks.is_empty() {
        let now: Vec<String> = s.tasks.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(out, "  backlog     {}", now.join(", "));
    }
    if !s.gates.is_empty() {
        let _ = writeln!(out);
        let rows: Vec<Vec<String>> = s
            .gates
            .iter()
            .map(|(g, f)| {
                vec![
                    g.clone(),
                    f.attempts.to_string(),
                    pct(f.first_attempt_pass_rate),
                    f.retries.to_string(),
                    format!("{}/{}", f.passed, f.runs),
                ]
            })
            .collect();
        out.push_str(&crate::report::table(
            ui,
            &["GATE", "ATTEMPTS", "FIRST-TIME PASS", "RETRIES", "PASSED"],
            &rows,
        ));
    }
    if let Some(by) = s.by {
        let name = serde_json::to_value(by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_ascii_uppercase))
            .unwrap_or_default();
        let _ = writeln!(out);
        let rows: Vec<Vec<String>> = s
            .groups
            .iter()
            .map(|(k, f)| {
                vec![
                    k.clone(),
                    f.runs.to_string(),
                    pct(f.success_rate),
                    secs(f.duration.median_s),
                    pct(f.first_attempt_pass_rate),
                    f.retries.to_string(),
                    f.tasks_done.to_string(),
                    secs(f.task_completion.median_s),
                    f.spend.invocations.to_string(),
                    cost(f),
                ]
            })
            .collect();
        out.push_str(&crate::report::table(
            ui,
            &[
                &name,
                "RUNS",
                "SUCCESS",
                "MEDIAN",
                "FIRST-TIME",
                "RETRIES",
                "TASKS DONE",
                "TASK MEDIAN",
                "INVOCATIONS",
                "COST",
            ],
            &rows,
        ));
    }
    out
}
