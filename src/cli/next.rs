//! `orch next`: the highest-scoring ready task, why it wins, and why the
//! others do not; with `--claim`, selected and claimed in one step.

use clap::Args;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::queue::board::Board;
use crate::queue::liveness;
use crate::queue::select::{Criteria, Plan};
use crate::repo::Repo;
use crate::ui::{Ui, sanitize_line};
use crate::{clock, env, exit, json, report};

/// Pick the highest-scoring ready task.
///
/// Ready: status TODO, every dependency DONE, in no dependency cycle, not
/// claimed. Score: priority weight (critical 1000, high 100, medium 10,
/// low 1) × deadline boost (overdue ×10, due today ×5, due within 3 days
/// ×2, else ×1); "today" is a calendar day in TZ's zone. Ties: the earlier
/// deadline, then more dependents waiting on it, then the older task, then
/// the smaller id.
///
/// Prints the task's id on the first line. Exits 0 with a task, 1 when
/// nothing is ready (saying why).
#[derive(Debug, Args)]
pub struct NextArgs {
    #[command(flatten)]
    pub queue: super::queue::QueueArg,
    /// Only tasks whose every tag is among these (as a worker with these
    /// tags would take). Repeat for more.
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// List every candidate with its score, term by term, and every task
    /// left out with the reason.
    #[arg(long)]
    pub explain: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Claim the task too, in the same step (two callers never get the
    /// same task). The claim stays live while the worker's heartbeat does:
    /// its `orch task progress --worker W` commands.
    #[arg(long, requires = "worker")]
    pub claim: bool,
    /// Who claims: a worker id.
    #[arg(long, value_name = "W", env = env::WORKER_ID)]
    pub worker: Option<String>,
}

pub fn execute(args: &NextArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let queue = Queue::connect(repo, args.queue.url())?;
    let tags = (!args.tag.is_empty()).then_some(args.tag.as_slice());
    let criteria = Criteria {
        tags,
        runnable_only: false,
    };
    // --explain accounts for every task; otherwise the best is enough.
    let board = if args.explain {
        queue.board()?
    } else {
        queue.work_board(&criteria)?
    };
    let plan = board.plan(&criteria);
    let mut pick = plan.best();
    let mut claim = None;
    if args.claim {
        let worker = args.worker.as_deref().unwrap_or_default();
        let rec = queue.external_worker(worker, &args.tag)?;
        claim = queue.claim_next(&board, &rec, &criteria, &std::collections::HashSet::new())?;
        pick = claim.as_ref().map(|(_, i)| *i);
        if pick.is_none() && plan.best().is_some() {
            return Err(
                Error::conflict("every ready task was claimed by others just now")
                    .hint("try again: `orch next --claim` picks among what is left"),
            );
        }
    }
    let why = pick.is_none().then(|| board.why_nothing(&plan));
    if args.json {
        let mut out = match pick {
            Some(i) => task_json(&board, i),
            None => json!({"id": null, "why": why}),
        };
        if let Some((c, _)) = &claim {
            out["claim"] = json!({"worker": c.worker, "fence": c.fence});
        }
        if args.explain {
            out["explain"] = explain_json(&board, &plan);
        }
        ui.out(&json::to_pretty_string(&out));
    } else {
        if let Some(i) = pick {
            let e = &board.entries[i];
            let score =
                crate::queue::select::score(e.folded.priority, e.deadline.as_ref(), &board.cal);
            ui.line(e.id());
            ui.line(&format!(
                "  {} · {}{}",
                sanitize_line(&e.folded.title),
                score.breakdown(e.folded.priority),
                e.folded
                    .due
                    .map(|d| format!(" · due {d}"))
                    .unwrap_or_default()
            ));
            if let Some((c, _)) = &claim {
                ui.note(&format!(
                    "claimed for worker {} (fence {}); report with `orch task progress {} --worker {}`, finish with `orch task done {} --worker {}`",
                    c.worker, c.fence, c.task, c.worker, c.task, c.worker
                ));
            }
        }
        if args.explain {
            if pick.is_some() {
                ui.out("\n");
            }
            ui.out(&report::task::render_explain(ui, &board, &plan));
        }
    }
    if let Some(why) = why {
        ui.note(&format!("nothing is ready: {why}"));
        return Ok(exit::FAILED);
    }
    if !args.claim && !any_live_worker(&board) {
        ui.note(
            "no workers available: start one with `orch worker` (tasks stay queued until one does)",
        );
    }
    Ok(exit::SUCCESS)
}

fn any_live_worker(board: &Board) -> bool {
    let stale = liveness::Intervals::from_env().stale_after;
    board
        .workers
        .iter()
        .any(|w| liveness::worker(w, clock::real_now(), stale).is_live())
}

fn task_json(board: &Board, i: usize) -> Value {
    let e = &board.entries[i];
    let score = crate::queue::select::score(e.folded.priority, e.deadline.as_ref(), &board.cal);
    json!({
        "id": e.id(),
        "title": e.folded.title,
        "score": score.value,
        "priority": e.folded.priority,
        "due": e.folded.due,
        "breakdown": {
            "weight": score.weight,
            "boost": score.boost.key(),
            "factor": score.boost.factor(),
        },
        "tags": e.folded.tags,
        "depends_on": e.folded.depends_on,
        "workflow": e.stored.def.workflow,
    })
}

fn explain_json(board: &Board, plan: &Plan) -> Value {
    let items = board.items();
    let candidates: Vec<Value> = plan
        .ranked
        .iter()
        .enumerate()
        .map(|(pos, (i, _))| {
            let mut v = task_json(board, *i);
            v["rank"] = json!(pos + 1);
            v["dependents"] = json!(plan.dependents[*i]);
            v["order"] = json!(crate::queue::select::tie_break(&items, plan, pos));
            v
        })
        .collect();
    let excluded: Vec<Value> = plan
        .excluded
        .iter()
        .map(|(i, why)| {
            let (status, _) = board.shown(*i);
            json!({
                "id": board.entries[*i].id(),
                "title": board.entries[*i].folded.title,
                "status": status,
                "why": report::task::why(board, *i, why),
            })
        })
        .collect();
    json!({"candidates": candidates, "excluded": excluded})
}
