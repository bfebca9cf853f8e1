//! Command-line options shared by the commands: the top layer of the settings (see `config`).

use crate::config::{Config, ThemeName, given_flags};
use clap::Args;
use std::path::PathBuf;

/// The options of the commands that run a server: the config file and every setting's flag.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonOptions {
    /// Config file (TOML); every option has a key there, and a variable HOOKWATCH_<KEY>
    #[arg(long, env = "HOOKWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: Flags,
}

impl CommonOptions {
    /// Defaults, the config file, the environment, then each layer of flags (options given after
    /// the subcommand come last and win).
    pub fn resolve(layers: &[&CommonOptions]) -> anyhow::Result<Config> {
        let file = layers.iter().rev().find_map(|l| l.config.as_deref());
        Config::layered(file, layers.iter().map(|l| l.flags.0.clone()).collect())
    }
}

/// The settings given as flags, only those given: a flag per setting of `Config`, as it declares it.
#[derive(Debug, Clone, Default)]
pub struct Flags(figment::value::Dict);

impl Args for Flags {
    fn augment_args(command: clap::Command) -> clap::Command {
        Config::augment_args(command)
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Config::augment_args_for_update(command)
    }
}

impl clap::FromArgMatches for Flags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(Flags(given_flags(matches)))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.extend(given_flags(matches));
        Ok(())
    }
}

/// The dashboard's options: on the commands that show it (and before any command), not on the
/// others' help.
#[derive(clap::Args, Clone, Copy, Default)]
pub struct ViewOptions {
    /// No colours (also when NO_COLOR is set); state stays visible through glyphs and bold
    #[arg(long)]
    pub no_color: bool,
    /// The palette (also HOOKWATCH_THEME, or `theme` in the config file of `run`) [default: default]
    #[arg(long, value_enum, env = "HOOKWATCH_THEME")]
    pub theme: Option<ThemeName>,
    /// Take the mouse: the wheel scrolls, a click selects, a click on the selected row opens it
    /// (text selection then needs Shift in most terminals)
    #[arg(long, env = "HOOKWATCH_MOUSE")]
    pub mouse: bool,
    /// Frames per second at most [default: 30]
    #[arg(long)]
    pub max_fps: Option<u32>,
    /// Offer only what changes nothing (attach with a viewer token is read-only anyway)
    #[arg(long)]
    pub read_only: bool,
}

impl ViewOptions {
    /// Given before the command (`self`) and after it (`after`, which wins).
    pub fn with(self, after: ViewOptions) -> ViewOptions {
        ViewOptions {
            no_color: self.no_color || after.no_color,
            theme: after.theme.or(self.theme),
            mouse: self.mouse || after.mouse,
            max_fps: after.max_fps.or(self.max_fps),
            read_only: self.read_only || after.read_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::FromArgMatches;
    use std::time::Duration;

    fn options(args: &[&str]) -> CommonOptions {
        let command = CommonOptions::augment_args(clap::Command::new("hookwatch"));
        let matches = command.try_get_matches_from([&["hookwatch"], args].concat()).expect("the flags parse");
        CommonOptions::from_arg_matches(&matches).expect("the options read")
    }

    /// Defaults < file < environment < flags; a flag not given (its default) hides nothing, and
    /// options given after the subcommand win over those before it.
    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail takes closures returning its own error type
    fn every_layer_overrides_the_one_below() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hw.toml",
                "max_backlog = 10\nretry_schedule = \"1s\"\nretention = \"2d\"\nmax_body_bytes = 2048\nlease = \"5s\"\n",
            )?;
            jail.set_env("HOOKWATCH_MAX_BACKLOG", "20");
            jail.set_env("HOOKWATCH_RETRY_SCHEDULE", "2s,3s");
            let before = options(&["--config", "hw.toml", "--max-backlog", "30", "--lease", "1s"]);
            let after = options(&["--lease", "2s", "--allow-private", "--allow-networks", "10.0.0.0/8,192.0.2.1"]);
            let c = CommonOptions::resolve(&[&before, &after]).expect("the layers resolve");
            assert_eq!(c.max_backlog, 30, "a flag beats the environment and the file");
            assert_eq!(c.retry_schedule.delays.len(), 2, "the environment beats the file");
            assert_eq!(*c.retention, Duration::from_secs(2 * 86_400), "the file beats the default");
            assert_eq!(c.max_body_bytes, 2048, "a flag's default does not hide the file");
            assert_eq!(*c.lease, Duration::from_secs(2), "the options after the subcommand win");
            assert!(c.allow_private && c.allow_networks.len() == 2, "a switch and a list as flags");
            assert_eq!(c.max_connections_per_address, Config::default().max_connections_per_address);
            Ok(())
        });
    }

    #[test]
    fn a_flag_is_checked_as_the_file_is() {
        let err = CommonOptions::resolve(&[&options(&["--max-body-bytes", "10"])]).unwrap_err().to_string();
        assert!(err.contains("max_body_bytes must be at least 1024"), "{err}");
        let command = CommonOptions::augment_args(clap::Command::new("hookwatch"));
        let err = command.try_get_matches_from(["hookwatch", "--retention", "a week"]).unwrap_err().to_string();
        assert!(err.contains("--retention") && err.contains("write e.g. 30s, 10m, 7d"), "{err}");
    }

    /// Every setting has a flag, but the tokens (a flag shows in `ps`), the tables and the
    /// dashboard's own, which are flags of the commands that show it.
    #[test]
    fn every_setting_has_a_flag() {
        let command = CommonOptions::augment_args(clap::Command::new("hookwatch"));
        let command = ViewOptions::augment_args(command);
        let flags: Vec<String> =
            command.get_arguments().filter_map(|a| a.get_long()).map(|l| l.replace('-', "_")).collect();
        for key in Config::keys().iter().filter(|k| !k.ends_with("_token") && **k != "subscriptions") {
            assert!(flags.iter().any(|f| f == key), "--{} is missing", key.replace('_', "-"));
        }
    }
}
