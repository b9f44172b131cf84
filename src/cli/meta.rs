//! `orch completions` and `orch man`: shell completions and manual pages,
//! generated from the same clap definitions as `--help`, so they cannot
//! drift from the commands they describe.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use crate::error::{Error, Result};
use crate::ui::Ui;

#[derive(Debug, Args)]
#[command(after_long_help = "\
Install them where your shell looks:
  bash        orch completions bash > ~/.local/share/bash-completion/completions/orch
  zsh         orch completions zsh > ~/.zfunc/_orch   (with fpath+=~/.zfunc before compinit)
  fish        orch completions fish > ~/.config/fish/completions/orch.fish
  powershell  orch completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write a page for orch and one for every subcommand (orch.1,
    /// orch-run.1, …) into DIR, instead of printing orch.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> u8 {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "orch", &mut out);
    Ui::plain().out(&String::from_utf8_lossy(&out));
    crate::exit::SUCCESS
}

pub fn man(args: &ManArgs, ui: &Ui) -> Result<u8> {
    let cmd = super::Cli::command();
    match &args.out_dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::write("stdout", e))?;
            ui.out(&String::from_utf8_lossy(&out));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir.display(), e))?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| Error::write(dir.display(), e))?;
            ui.note(&format!(
                "wrote the manual pages to {} (read one: man {}/orch.1)",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(crate::exit::SUCCESS)
}
