//! Runs spread over several workers train exactly as in one: the page's view of an experiment
//! (curves, iterations, fit curves, parameter files, imports, run numbers) is the same
//! whatever the number of workers, and an import one worker refuses changes nothing.

use std::collections::HashMap;

use metaplay::engine::meta::Algo;
use metaplay::engine::params::ParamSet;
use metaplay::experiment::params_file::{from_safetensors, merge, to_safetensors};
use metaplay::experiment::protocol::{Command, Event, FitCurves, FitRequest};
use metaplay::experiment::session::Session;
use metaplay::experiment::worker_pool::{workers_for, WorkerPool};
use metaplay::experiment::{BanditConfig, Config, TaskKind};

type Points = Vec<Vec<(usize, f64)>>;

/// What the page keeps of the events (as `ui::training::Training::apply` does).
#[derive(Default, Debug, PartialEq)]
struct Page {
    ready: bool,
    iters: Vec<usize>,
    losses: Points,
    validation: Points,
    fit: Vec<FitCurves>,
    files: Vec<Vec<u8>>,
    imported: Vec<String>,
    errors: Vec<String>,
    checks: Vec<(usize, Algo)>,
    playing: bool,
    rate: f64,
}

impl Page {
    fn apply(&mut self, e: Event) {
        match e {
            Event::Ready => self.ready = true,
            Event::Progress {
                iters,
                losses,
                validation,
                iters_per_sec,
                playing,
                ..
            } => {
                self.iters = iters;
                for (mine, new) in [
                    (&mut self.losses, losses),
                    (&mut self.validation, validation),
                ] {
                    if !new.is_empty() {
                        mine.resize(new.len(), Vec::new());
                        mine.iter_mut().zip(new).for_each(|(m, n)| m.extend(n));
                    }
                }
                if iters_per_sec > 0.0 {
                    self.rate = iters_per_sec;
                }
                self.playing = playing;
            }
            Event::Fit { runs, .. } => self.fit = runs,
            Event::ParamsFile { bytes } => self.files.push(bytes),
            Event::Imported { message } => self.imported.push(message),
            Event::Error { message } => self.errors.push(message),
            Event::GradientCheck { run, report } => self.checks.push((run, report.algo)),
            _ => {}
        }
    }
}

/// Sessions standing in for the workers, the pool between them and the page.
struct Workers {
    pool: WorkerPool,
    sessions: Vec<Session>,
    page: Page,
}

impl Workers {
    fn new(n: usize) -> Self {
        let mut w = Self {
            pool: WorkerPool::new(n),
            sessions: (0..n).map(|_| Session::new()).collect(),
            page: Page::default(),
        };
        for i in 0..n {
            w.deliver(i, vec![Event::Ready]);
        }
        assert!(w.page.ready);
        w
    }

    fn deliver(&mut self, w: usize, events: Vec<Event>) {
        for e in events {
            let (events, commands) = self.pool.take(w, e);
            events.into_iter().for_each(|e| self.page.apply(e));
            for (to, c) in commands {
                let answer = self.sessions[to].handle(c);
                self.deliver(to, answer);
            }
        }
    }

    fn send(&mut self, command: Command) {
        for (w, c) in self.pool.route(command) {
            let events = self.sessions[w].handle(c);
            self.deliver(w, events);
        }
    }

    /// Chunks of `rounds[w]` iterations per worker until every run is done.
    fn train(&mut self, rounds: &[usize]) {
        self.send(Command::Play);
        while self.sessions.iter().any(Session::playing) {
            for (w, &rounds) in rounds.iter().enumerate() {
                if self.sessions[w].playing() {
                    let events = self.sessions[w].chunk(f64::INFINITY, rounds, &|| 0.0);
                    self.deliver(w, events);
                }
            }
        }
    }

    fn params(&self) -> Vec<ParamSet> {
        let mut numbered: Vec<(usize, ParamSet)> = Vec::new();
        for (w, s) in self.sessions.iter().enumerate() {
            for (r, n) in s.runs().iter().zip(self.pool.runs_of(w)) {
                numbered.push((*n, r.learner().params().clone()));
            }
        }
        numbered.sort_by_key(|(n, _)| *n);
        numbered.into_iter().map(|(_, p)| p).collect()
    }
}

fn runs() -> Vec<Config> {
    [Algo::Maml, Algo::Fomaml, Algo::Reptile]
        .into_iter()
        .map(|algo| {
            let mut c = Config::new(TaskKind::Sine, algo);
            c.hidden = vec![16, 16];
            c.meta_batch = 4;
            c.iters = 230;
            c
        })
        .collect()
}

fn fit() -> Command {
    Command::Fit(FitRequest {
        points: vec![(-2.0, 1.0), (0.5, -0.3), (3.0, 0.8)],
        steps: 3,
    })
}

fn trained(workers: usize, rounds: &[usize]) -> Workers {
    let mut w = Workers::new(workers);
    w.send(Command::Configure { runs: runs() });
    w.send(fit());
    w.train(rounds);
    w
}

#[test]
fn the_workers_a_machine_trains_on() {
    let table: Vec<usize> = [1, 2, 3, 4, 5, 8, 64].map(workers_for).to_vec();
    assert_eq!(table, vec![1, 2, 2, 3, 4, 4, 4]);
}

#[test]
fn runs_spread_over_workers_train_exactly_as_in_one() {
    let one = trained(1, &[5]);
    assert_eq!(one.page.iters, vec![230; 3]);
    assert_eq!(one.page.validation[0].len(), 3, "at 100, 200 and 230");
    assert!(!one.page.playing);
    for (workers, rounds) in [(2, vec![7, 3]), (3, vec![1, 9, 4]), (4, vec![2, 2, 2, 2])] {
        let many = trained(workers, &rounds);
        assert!(many.pool.runs_of(0).len() <= 2);
        assert_eq!(many.page.iters, one.page.iters, "{workers} workers");
        assert_eq!(many.page.losses, one.page.losses, "{workers} workers");
        assert_eq!(
            many.page.validation, one.page.validation,
            "{workers} workers"
        );
        assert_eq!(many.page.fit, one.page.fit, "{workers} workers");
        assert_eq!(many.params(), one.params(), "{workers} workers");
        assert!(many.page.errors.is_empty(), "{:?}", many.page.errors);
        assert!(!many.page.playing);
    }
    // the fourth worker of a three-run experiment is idle
    let four = trained(4, &[2, 2, 2, 2]);
    assert!(four.pool.runs_of(3).is_empty());
    assert!(!four.sessions[3].playing() && four.sessions[3].runs().is_empty());
}

#[test]
fn the_parameter_file_is_one_file_whatever_the_workers() {
    let one = trained(1, &[50]);
    let mut many = trained(3, &[50, 50, 50]);
    let link = "v=1&task=sine".to_string();
    let mut one = one;
    one.send(Command::ExportParams { link: link.clone() });
    many.send(Command::ExportParams { link });
    assert_eq!(one.page.files.len(), 1);
    assert_eq!(many.page.files.len(), 1, "the workers' parts are merged");
    let expected = one.params();
    let refs: Vec<&ParamSet> = expected.iter().collect();
    let read = |bytes: &[u8]| from_safetensors(bytes, &refs).unwrap();
    assert_eq!(read(&many.page.files[0]), read(&one.page.files[0]));
    assert_eq!(read(&many.page.files[0]), expected);
    let (_, header) = safetensors::SafeTensors::read_metadata(&many.page.files[0]).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["link"], "v=1&task=sine");

    // importing it into fresh workers loads every run, in two steps
    let mut fresh = Workers::new(2);
    fresh.send(Command::Configure { runs: runs() });
    assert_ne!(fresh.params(), expected);
    fresh.send(Command::ImportParams {
        bytes: many.page.files[0].clone(),
    });
    assert_eq!(fresh.page.errors, Vec::<String>::new());
    assert_eq!(
        fresh.page.imported,
        vec!["meta-parameters of 3 run(s) loaded"]
    );
    assert_eq!(fresh.params(), expected);
}

#[test]
fn an_import_one_worker_refuses_changes_nothing() {
    let mut other = runs();
    other[1].hidden = vec![8, 8]; // run 2's shapes differ from the file's
    let source = trained(1, &[50]);
    let file = {
        let p = source.params();
        to_safetensors(&p.iter().collect::<Vec<_>>(), HashMap::new()).unwrap()
    };
    let mut w = Workers::new(2);
    w.send(Command::Configure { runs: other });
    let before = w.params();
    w.send(Command::ImportParams { bytes: file });
    assert!(w.page.imported.is_empty());
    assert_eq!(w.page.errors.len(), 1, "{:?}", w.page.errors);
    assert!(
        w.page.errors[0].contains("`run1.") && w.page.errors[0].contains("shape"),
        "{}",
        w.page.errors[0]
    );
    assert_eq!(
        w.params(),
        before,
        "run 1 and 3 (the other worker's) are untouched"
    );

    // a tensor that belongs to no run of the experiment is refused too
    let p = source.params();
    let four = to_safetensors(&[&p[0], &p[1], &p[2], &p[0]], HashMap::new()).unwrap();
    let mut w = Workers::new(2);
    w.send(Command::Configure { runs: runs() });
    w.send(Command::ImportParams { bytes: four });
    assert!(w
        .page
        .errors
        .iter()
        .any(|e| e.contains("`run3.") && e.contains("does not belong")));
    assert!(w.page.imported.is_empty());
}

#[test]
fn merging_refuses_a_tensor_given_twice() {
    let source = trained(1, &[10]);
    let p = source.params();
    let a = to_safetensors(&[&p[0]], HashMap::new()).unwrap();
    let err = merge(&[a.clone(), a]).unwrap_err().to_string();
    assert!(
        err.contains("`run0.") && err.contains("two of them"),
        "{err}"
    );
}

#[test]
fn run_numbers_are_the_experiments_in_every_worker() {
    let mut w = Workers::new(2);
    let mut configs = runs();
    configs[2].inner_lr = 10.0;
    configs[2].meta_lr = 10.0;
    configs[2].meta_optimizer = metaplay::engine::optim::OptimizerKind::Sgd;
    configs[2].algo = Algo::Maml;
    w.send(Command::Configure { runs: configs });
    assert_eq!(w.pool.runs_of(0), &[0, 2]);
    assert_eq!(w.pool.runs_of(1), &[1]);
    w.send(Command::CheckGradients { run: 1 });
    assert_eq!(w.page.checks, vec![(1, Algo::Fomaml)]);
    // run 3 (number 2) diverges in worker 0, where it is the second run
    let mut diverged = Vec::new();
    w.send(Command::Play);
    for _ in 0..40 {
        for e in w.sessions[0].chunk(f64::INFINITY, 10, &|| 0.0) {
            if let Event::Diverged { run, message } = e {
                diverged.push((run, message));
            }
        }
    }
    let (run, message) = diverged.first().expect("the wild run diverges");
    assert_eq!(*run, 2);
    assert!(message.starts_with("run 3 (maml) diverged"), "{message}");
}

#[test]
fn a_bandit_experiment_trains_in_the_first_worker() {
    let mut w = Workers::new(2);
    w.send(Command::Configure { runs: runs() });
    let commands = w.pool.route(Command::ConfigureBandit {
        config: BanditConfig::default(),
    });
    assert!(matches!(commands[0], (0, Command::ConfigureBandit { .. })));
    assert!(matches!(commands[1], (1, Command::Clear)));
    for (to, c) in commands {
        let events = w.sessions[to].handle(c);
        w.deliver(to, events);
    }
    assert!(w.sessions[1].runs().is_empty() && w.sessions[1].bandit().is_none());
    w.send(Command::Step);
    assert_eq!(w.page.iters, vec![1]);
}
