//! The command line's setting flags, generated from a schema table: one `--<cli>` flag per
//! setting, parsed by the setting's own [`Domain::parse`](super::Domain::parse), so that the CLI
//! accepts and refuses exactly what links and controls do. Flatten [`Flags`] into a clap
//! command with `#[command(flatten)]`.

use std::marker::PhantomData;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use super::{DefaultsBy, Domain, Setting, Value};
use crate::engine::meta::Algo;
use crate::engine::tasks::BanditSetting;
use crate::experiment::{AgentAlgo, BanditConfig, Config, TaskKind};

/// A schema table the CLI offers as flags.
pub trait Table: 'static {
    /// The configuration it describes.
    type Config: 'static;
    /// The settings.
    fn settings() -> &'static [Setting<Self::Config>];
}

/// The sine settings ([`super::SINE`]).
pub struct Sine;
impl Table for Sine {
    type Config = Config;
    fn settings() -> &'static [Setting<Config>] {
        super::SINE
    }
}

/// The bandit settings ([`super::BANDIT`]).
pub struct Bandit;
impl Table for Bandit {
    type Config = BanditConfig;
    fn settings() -> &'static [Setting<BanditConfig>] {
        super::BANDIT
    }
}

/// The setting flags given on a command line, already checked against their domains.
pub struct Flags<T: Table> {
    given: Vec<(&'static Setting<T::Config>, Value)>,
    _table: PhantomData<T>,
}

/// The clap argument of one setting.
pub fn arg<C>(s: &'static Setting<C>) -> Arg {
    let help = format!("{} (accepted: {})", s.help, s.accepted());
    Arg::new(s.link)
        .long(s.cli)
        .value_name(match s.domain {
            Domain::Whole { .. } => "N",
            Domain::Real { .. } => "X",
            Domain::Choice(_) => "NAME",
            Domain::Flag => "0|1",
            Domain::Widths { .. } => "WxW",
        })
        .help(help)
        .value_parser(move |text: &str| s.domain.parse(text).map(|_| text.to_string()))
}

impl<T: Table> Flags<T> {
    /// The value of the setting with link key `link`, if given.
    pub fn get(&self, link: &str) -> Option<&Value> {
        self.given
            .iter()
            .find(|(s, _)| s.link == link)
            .map(|(_, v)| v)
    }

    /// The given choice of the setting with link key `link`, read by `parse` (`None` when the
    /// flag was not given).
    pub fn choice<V>(&self, link: &str, parse: fn(&str) -> Option<V>) -> Option<V> {
        self.get(link).and_then(|v| parse(v.choice()))
    }

    /// Writes every given setting that is not a frame (task, algorithm) into `c`, in table
    /// order, so that coupling rules apply as in a link. The caller builds `c` from the frame
    /// settings first and validates it after.
    pub fn apply(&self, c: &mut T::Config) {
        for (s, v) in &self.given {
            if s.defaults_by != DefaultsBy::Frame {
                (s.put)(c, v.clone());
            }
        }
    }
}

impl Flags<Sine> {
    /// The run these flags describe: the task's and algorithm's defaults
    /// ([`Config::new`]) with every other flag written over them, validated.
    pub fn config(&self) -> crate::Result<Config> {
        let task = self
            .choice("task", TaskKind::parse)
            .unwrap_or(TaskKind::Sine);
        let algo = self.choice("runs", Algo::parse).unwrap_or(Algo::Maml);
        let mut c = Config::new(task, algo);
        self.apply(&mut c);
        c.validate()?;
        Ok(c)
    }
}

impl Flags<Bandit> {
    /// True when `--algo` asks for the meta-learned agent (without it the CLI evaluates the
    /// classical policies only).
    pub fn with_agent(&self) -> bool {
        self.get("agent").is_some()
    }

    /// The experiment these flags describe, from [`BanditConfig::default`]'s setting (or the
    /// one given) and the agent given (`scratch` when none), validated.
    pub fn config(&self) -> crate::Result<BanditConfig> {
        let setting = self
            .choice("setting", BanditSetting::parse)
            .unwrap_or(BanditConfig::default().setting);
        let algo = self
            .choice("agent", AgentAlgo::parse)
            .unwrap_or(AgentAlgo::Scratch);
        let mut c = BanditConfig::new(setting, algo);
        self.apply(&mut c);
        c.validate()?;
        Ok(c)
    }
}

impl<T: Table> FromArgMatches for Flags<T> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Flags {
            given: Vec::new(),
            _table: PhantomData,
        };
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for s in T::settings() {
            if let Ok(Some(text)) = m.try_get_one::<String>(s.link) {
                let v = s
                    .domain
                    .parse(text)
                    .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e))?;
                self.given.retain(|(g, _)| g.link != s.link);
                self.given.push((s, v));
            }
        }
        // table order, whatever the order on the command line
        let order = |link: &str| T::settings().iter().position(|s| s.link == link);
        self.given.sort_by_key(|(s, _)| order(s.link));
        Ok(())
    }
}

impl<T: Table> Args for Flags<T> {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(T::settings().iter().map(arg))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
