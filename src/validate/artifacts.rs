//! `artifact_exists`: the run has an artifact of a kind (a URL, a file, a
//! pull request), optionally with a label — one registered with `orch
//! artifact add` (a Chromatic build, a preview deployment), or the outputs
//! URI an agent printed (a pull request). A run-less check (`gate check`)
//! has no artifacts, and says so.

use serde_json::json;

use crate::contract::ArtifactType;
use crate::record::{RunRecord, ValidationResult};
use crate::repo::Repo;

/// Fills `r`: is there such an artifact in `run`?
pub fn check(
    r: &mut ValidationResult,
    run: Option<&RunRecord>,
    repo: &Repo,
    kind: ArtifactType,
    label: Option<&str>,
) {
    r.details
        .insert("artifact_type".into(), json!(kind.as_str()));
    if let Some(l) = label {
        r.details.insert("label".into(), json!(l));
    }
    let what = match label {
        Some(l) => format!("`{}` artifact labelled `{l}`", kind.as_str()),
        None => format!("`{}` artifact", kind.as_str()),
    };
    let Some(run) = run else {
        r.reason = Some(format!(
            "a {what} is looked for in a run; there is none here (gate check has no run)"
        ));
        return;
    };
    let registered = run.registered_artifacts.iter().find(|a| {
        a.kind == kind.as_str()
            && label.is_none_or(|l| a.label.eq_ignore_ascii_case(l))
            && (kind != ArtifactType::File
                || a.path
                    .as_deref()
                    .is_some_and(|p| repo.contain(p).is_ok_and(|f| f.abs.is_file())))
    });
    if let Some(a) = registered {
        let at = a.url.as_deref().or(a.path.as_deref()).unwrap_or_default();
        r.pass = true;
        r.details.insert("found".into(), json!(at));
        r.reason = Some(format!(
            "{} `{}` ({at}), added for {}",
            a.kind, a.label, a.gate
        ));
        return;
    }
    // An outputs URI an agent printed counts as a URL, and as a pull
    // request when it looks like one; its "label" is its gate.
    let pr = regex::Regex::new(crate::exec::excerpt::DEFAULT_URI_PATTERN)
        .expect("the default pattern compiles");
    let printed = run.gates.iter().find_map(|g| {
        let uri = g.outputs_uri.as_deref()?;
        let kind_ok = match kind {
            ArtifactType::Url => true,
            ArtifactType::PullRequest => pr.is_match(uri),
            ArtifactType::File => false,
        };
        (kind_ok && label.is_none_or(|l| l.eq_ignore_ascii_case(&g.gate)))
            .then(|| (g.gate.clone(), uri.to_string()))
    });
    if let Some((gate, uri)) = printed {
        r.pass = true;
        r.details.insert("found".into(), json!(uri));
        r.reason = Some(format!("{gate}'s agent printed {uri}"));
        return;
    }
    let have: Vec<String> = run
        .registered_artifacts
        .iter()
        .map(|a| format!("{} `{}`", a.kind, a.label))
        .collect();
    r.reason = Some(if have.is_empty() {
        format!("the run has no {what}: add one with `orch artifact add`")
    } else {
        format!("the run has no {what} (it has {})", have.join(", "))
    });
}
