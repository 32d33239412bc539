//! "Play it yourself" through the worker's session: `Command::Replay` answers with every policy
//! the session evaluates (the agent as it is now) on the student's bandit.

use std::cell::Cell;

use metaplay::engine::meta::Algo;
use metaplay::engine::tasks::BanditSetting;
use metaplay::experiment::play::{policy_rng, PlayGame, PlayReplay};
use metaplay::experiment::protocol::{Command, Event};
use metaplay::experiment::session::Session;
use metaplay::experiment::{AgentAlgo, BanditConfig, Config, TaskKind};

fn replay_of(events: Vec<Event>) -> PlayReplay {
    match events.as_slice() {
        [Event::Replay(r)] => r.clone(),
        other => panic!("expected one replay, got {other:?}"),
    }
}

#[test]
fn a_replay_has_every_evaluated_policy_and_the_agent_as_it_is_now() {
    let mut config = BanditConfig::new(BanditSetting::DependentMedium, AgentAlgo::Maml);
    config.iters = 20;
    config.episodes = 50;
    config.pulls = 30;
    config.adapt_every = 1;
    let mut s = Session::new();
    assert!(
        s.handle(Command::Replay { seed: 1 }).is_empty(),
        "idle: nothing"
    );
    let ev = s.handle(Command::ConfigureBandit {
        config: config.clone(),
    });
    let names: Vec<String> = ev
        .iter()
        .find_map(|e| match e {
            Event::BanditEval(b) => Some(b.reports.iter().map(|r| r.policy.clone()).collect()),
            _ => None,
        })
        .expect("an evaluation");
    let before = replay_of(s.handle(Command::Replay { seed: 9 }));
    let game = PlayGame::new(&config.family(), 9);
    assert!(game.matches(&before), "the student's bandit");
    assert_eq!(before.iter, 0);
    let replayed: Vec<String> = before.rows.iter().map(|r| r.policy.clone()).collect();
    assert_eq!(replayed, names, "the evaluation's policies, in its order");
    // the agent's row is Policy::play of the session's agent with its replay stream
    let runner = s.bandit().unwrap().runner();
    let agent_index = before.rows.len() - 1;
    let mut arms = Vec::new();
    runner.agent().play(
        game.task(),
        config.pulls,
        &mut policy_rng(9, agent_index),
        |a, _| arms.push(a),
    );
    assert_eq!(before.rows[agent_index].arms, arms);
    assert_eq!(replay_of(s.handle(Command::Replay { seed: 9 })), before);

    // after training the replay is of the trained agent; the classical rows stay the same
    s.handle(Command::Play);
    let t = Cell::new(0.0);
    let clock = || {
        t.set(t.get() + 1.0);
        t.get()
    };
    while s.playing() {
        s.chunk(10.0, usize::MAX, &clock);
    }
    let after = replay_of(s.handle(Command::Replay { seed: 9 }));
    assert_eq!(after.iter, 20);
    assert_eq!(after.rows[..agent_index], before.rows[..agent_index]);

    // sine runs have no bandit to replay
    s.handle(Command::Configure {
        runs: vec![Config::new(TaskKind::Sine, Algo::Maml)],
    });
    assert!(s.handle(Command::Replay { seed: 9 }).is_empty());
}
