//! One experiment, several training workers: the sine runs of a comparison are spread over
//! the workers, so that they train in parallel on as many cores. Plain Rust, tested natively:
//! the page posts what [`WorkerPool::route`] says to each worker and passes every event that
//! comes back through [`WorkerPool::take`], which answers with the events one worker training
//! all the runs would have sent (runs in the experiment's order, the rates of the workers
//! added up, one parameter file, merged by the first worker). A run trains exactly as it would alone: the runs of a
//! session share nothing (each has its seed's task stream), so the curves do not depend on
//! how the runs are spread.
//!
//! A bandit experiment (one agent) trains in the first worker. An import spread over several
//! workers is done in two steps (check everywhere, then load), so that a file one worker
//! refuses changes nothing anywhere.

use crate::experiment::protocol::{Command, Event, FitCurves, Shard, MAX_RUNS};

/// How many workers a machine with `cores` logical cores trains on: one core is left to the
/// page where there are three or more, at least two where there are two (the page is idle
/// while the workers train), at most one per run.
pub fn workers_for(cores: usize) -> usize {
    cores.saturating_sub(1).max(cores.min(2)).clamp(1, MAX_RUNS)
}

/// What the pool knows of one worker.
#[derive(Clone, Debug, Default)]
struct WorkerState {
    /// It said [`Event::Ready`].
    ready: bool,
    /// The experiment's run numbers it trains (empty: idle).
    runs: Vec<usize>,
    /// Its latest rate (iterations per second) and milliseconds per iteration.
    rate: (f64, f64),
    /// It is training.
    playing: bool,
    /// Its wasm memory.
    memory: f64,
    /// Its latest fit curves (one per run of its own).
    fit: Option<Vec<FitCurves>>,
    /// Its part of the parameter file being exported.
    file: Option<Vec<u8>>,
    /// Its answer to the file being imported: accepted ([`Event::ImportChecked`]) or why not.
    checked: Option<Result<(), String>>,
    /// It loaded it ([`Event::Imported`]).
    imported: bool,
}

/// An import in progress (two steps: check everywhere, then load).
#[derive(Clone, Debug, PartialEq)]
enum Import {
    /// Nothing being imported.
    None,
    /// The workers are checking the file.
    Checking,
    /// They are loading it.
    Loading,
}

/// The workers of one page, and the runs each trains.
#[derive(Clone, Debug)]
pub struct WorkerPool {
    workers: Vec<WorkerState>,
    /// Meta-iterations done, per run of the experiment.
    iters: Vec<usize>,
    /// The fit chart's grid (the same for every worker).
    grid: Vec<f64>,
    /// A bandit experiment (the first worker's events pass through).
    bandit: bool,
    /// Every worker said Ready (and the page was told).
    ready: bool,
    import: Import,
    /// The first worker is merging the parts of an export.
    merging: bool,
}

/// A run's place: its worker and its index there.
fn place(workers: &[WorkerState], run: usize) -> Option<(usize, usize)> {
    workers
        .iter()
        .enumerate()
        .find_map(|(w, s)| s.runs.iter().position(|&r| r == run).map(|i| (w, i)))
}

impl WorkerPool {
    /// A pool of `workers` (1..=[`MAX_RUNS`]) idle workers.
    pub fn new(workers: usize) -> Self {
        Self {
            workers: vec![WorkerState::default(); workers.clamp(1, MAX_RUNS)],
            iters: Vec::new(),
            grid: Vec::new(),
            bandit: false,
            ready: false,
            import: Import::None,
            merging: false,
        }
    }

    /// Workers in the pool.
    fn len(&self) -> usize {
        self.workers.len()
    }

    /// The experiment's run numbers trained by worker `w`.
    pub fn runs_of(&self, w: usize) -> &[usize] {
        self.workers.get(w).map_or(&[], |s| s.runs.as_slice())
    }

    /// How many workers have runs to train.
    pub fn busy_workers(&self) -> usize {
        self.active().count()
    }

    /// Workers with runs to train.
    fn active(&self) -> impl Iterator<Item = usize> + '_ {
        self.workers
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.runs.is_empty())
            .map(|(w, _)| w)
    }

    fn to_active(&self, command: Command) -> Vec<(usize, Command)> {
        self.active().map(|w| (w, command.clone())).collect()
    }

    /// The commands to post for the page's `command`: `(worker, command)` pairs.
    pub fn route(&mut self, command: Command) -> Vec<(usize, Command)> {
        match command {
            Command::Configure { runs } => self.configure(runs),
            Command::ConfigureBandit { config } => {
                self.start_over(vec![vec![0]], true, 1);
                let mut out = vec![(0, Command::ConfigureBandit { config })];
                out.extend((1..self.len()).map(|w| (w, Command::Clear)));
                out
            }
            Command::ImportParams { bytes } if self.active().count() > 1 => {
                self.import = Import::Checking;
                self.workers.iter_mut().for_each(|s| {
                    s.checked = None;
                    s.imported = false;
                });
                self.to_active(Command::CheckImport { bytes })
            }
            Command::ExportParams { link } => {
                self.workers.iter_mut().for_each(|s| s.file = None);
                self.merging = false;
                self.to_active(Command::ExportParams { link })
            }
            Command::CheckGradients { run } => match place(&self.workers, run) {
                Some((w, _)) => vec![(w, Command::CheckGradients { run })],
                None => vec![(0, Command::CheckGradients { run })],
            },
            Command::Replay { seed } => vec![(0, Command::Replay { seed })],
            Command::Clear => {
                self.start_over(Vec::new(), false, 0);
                (0..self.len()).map(|w| (w, Command::Clear)).collect()
            }
            other => self.to_active(other),
        }
    }

    /// Forgets the previous experiment; worker `w` trains `runs[w]` (none past the list).
    fn start_over(&mut self, runs: Vec<Vec<usize>>, bandit: bool, total: usize) {
        for (w, s) in self.workers.iter_mut().enumerate() {
            *s = WorkerState {
                ready: s.ready,
                memory: s.memory,
                runs: runs.get(w).cloned().unwrap_or_default(),
                ..WorkerState::default()
            };
        }
        self.iters = vec![0; total];
        self.grid.clear();
        self.bandit = bandit;
        self.import = Import::None;
        self.merging = false;
    }

    /// Run `i` goes to worker `i mod n`, with `n` the workers or the runs, whichever is fewer.
    fn configure(&mut self, runs: Vec<crate::experiment::Config>) -> Vec<(usize, Command)> {
        let total = runs.len();
        let used = self.len().min(total.max(1));
        let numbers: Vec<Vec<usize>> = (0..used)
            .map(|w| (w..total).step_by(used).collect())
            .collect();
        self.start_over(numbers.clone(), false, total);
        let mut out: Vec<(usize, Command)> = numbers
            .into_iter()
            .enumerate()
            .map(|(w, numbers)| {
                let configs = numbers.iter().map(|&i| runs[i].clone()).collect();
                let shard = Shard { numbers, total };
                (
                    w,
                    Command::ConfigureShard {
                        runs: configs,
                        shard,
                    },
                )
            })
            .collect();
        out.extend((used..self.len()).map(|w| (w, Command::Clear)));
        out
    }

    /// Takes in an event of worker `w`; returns the events for the page and any commands to
    /// post (the second step of an import).
    pub fn take(&mut self, w: usize, event: Event) -> (Vec<Event>, Vec<(usize, Command)>) {
        if w >= self.len() {
            return (vec![], vec![]);
        }
        let none = vec![];
        match event {
            Event::Ready => {
                self.workers[w].ready = true;
                let all = self.workers.iter().all(|s| s.ready);
                if all && !self.ready {
                    self.ready = true;
                    return (vec![Event::Ready], none);
                }
                (vec![], none)
            }
            Event::Memory { bytes } => {
                self.workers[w].memory = bytes;
                let bytes = self.workers.iter().map(|s| s.memory).sum();
                (vec![Event::Memory { bytes }], none)
            }
            Event::Error { message }
                if self.import == Import::Checking && !self.workers[w].runs.is_empty() =>
            {
                self.workers[w].checked = Some(Err(message));
                self.import_answered()
            }
            Event::Error { message } => {
                self.merging = false;
                (vec![Event::Error { message }], none)
            }
            _ if self.workers[w].runs.is_empty() => (vec![], none),
            _ if self.bandit => (vec![event], none),
            event @ Event::Progress { .. } => (vec![self.progress(w, event)], none),
            Event::Fit { grid, runs } => {
                self.grid = grid;
                self.workers[w].fit = Some(runs);
                (vec![self.fit()], none)
            }
            Event::ParamsFile { bytes } if self.merging => {
                self.merging = false;
                (vec![Event::ParamsFile { bytes }], none)
            }
            Event::ParamsFile { bytes } => {
                self.workers[w].file = Some(bytes);
                let active: Vec<usize> = self.active().collect();
                if active.iter().any(|&a| self.workers[a].file.is_none()) {
                    return (vec![], none);
                }
                let mut files: Vec<Vec<u8>> = active
                    .iter()
                    .filter_map(|&a| self.workers[a].file.take())
                    .collect();
                if files.len() == 1 {
                    return (
                        vec![Event::ParamsFile {
                            bytes: files.remove(0),
                        }],
                        none,
                    );
                }
                // the first worker merges the parts (the page's wasm has no safetensors)
                self.merging = true;
                (vec![], vec![(0, Command::MergeParams { files })])
            }
            Event::ImportChecked if self.import == Import::Checking => {
                self.workers[w].checked = Some(Ok(()));
                self.import_answered()
            }
            Event::Imported { message } => {
                if self.import != Import::Loading {
                    return (vec![Event::Imported { message }], none);
                }
                self.workers[w].imported = true;
                if !self.active().all(|a| self.workers[a].imported) {
                    return (vec![], none);
                }
                self.import = Import::None;
                let message = format!("meta-parameters of {} run(s) loaded", self.iters.len());
                (vec![Event::Imported { message }], none)
            }
            // run numbers are the experiment's already (the workers know theirs)
            other => (vec![other], none),
        }
    }

    /// Once every worker has answered the check of an import: load it everywhere, or refuse
    /// it as a whole with the first worker's reason (the one of the lowest run number).
    fn import_answered(&mut self) -> (Vec<Event>, Vec<(usize, Command)>) {
        let active: Vec<usize> = self.active().collect();
        if active.iter().any(|&a| self.workers[a].checked.is_none()) {
            return (vec![], vec![]);
        }
        let refusal = active
            .iter()
            .find_map(|&a| self.workers[a].checked.clone()?.err());
        match refusal {
            Some(message) => {
                self.import = Import::None;
                (vec![Event::Error { message }], vec![])
            }
            None => {
                self.import = Import::Loading;
                (vec![], self.to_active(Command::CommitImport))
            }
        }
    }

    /// Worker `w`'s progress event as the progress of the whole experiment.
    fn progress(&mut self, w: usize, event: Event) -> Event {
        let Event::Progress {
            iters,
            losses,
            validation,
            iters_per_sec,
            ms_per_iter,
            playing,
        } = event
        else {
            return event;
        };
        let runs = self.workers[w].runs.clone();
        let total = self.iters.len();
        let spread = |local: Vec<Vec<(usize, f64)>>| -> Vec<Vec<(usize, f64)>> {
            if local.is_empty() {
                return local;
            }
            let mut all = vec![Vec::new(); total];
            for (&run, points) in runs.iter().zip(local) {
                if let Some(slot) = all.get_mut(run) {
                    *slot = points;
                }
            }
            all
        };
        for (&run, it) in runs.iter().zip(&iters) {
            if let Some(slot) = self.iters.get_mut(run) {
                *slot = *it;
            }
        }
        let losses = spread(losses);
        let validation = spread(validation);
        let state = &mut self.workers[w];
        state.playing = playing;
        if iters_per_sec > 0.0 {
            state.rate = (iters_per_sec, ms_per_iter);
        }
        let rates: Vec<(f64, f64)> = self
            .active()
            .map(|a| self.workers[a].rate)
            .filter(|r| r.0 > 0.0)
            .collect();
        let (iters_per_sec, ms_per_iter) = if rates.is_empty() {
            (0.0, 0.0)
        } else {
            let sum: f64 = rates.iter().map(|r| r.0).sum();
            let ms = rates.iter().map(|r| r.1).sum::<f64>() / rates.len() as f64;
            (sum, ms)
        };
        // a worker that stopped no longer adds to the rate
        if !playing {
            self.workers[w].rate = (0.0, 0.0);
        }
        Event::Progress {
            iters: self.iters.clone(),
            losses,
            validation,
            iters_per_sec,
            ms_per_iter,
            playing: self.active().any(|a| self.workers[a].playing),
        }
    }

    /// The latest fit curves of every run (empty curves for a run whose worker has not sent
    /// any yet).
    fn fit(&self) -> Event {
        let runs = (0..self.iters.len())
            .map(|run| {
                place(&self.workers, run)
                    .and_then(|(w, i)| self.workers[w].fit.as_ref()?.get(i).cloned())
                    .unwrap_or_default()
            })
            .collect();
        Event::Fit {
            grid: self.grid.clone(),
            runs,
        }
    }
}
