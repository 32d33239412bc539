//! Guided lessons: each is an experiment (a link) and a few steps of "do this, watch that".
//! A lesson's link is its experiment's query plus `lesson=<id>`, which shows the steps.

/// One lesson.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lesson {
    /// The `lesson=` value.
    pub id: &'static str,
    /// Heading.
    pub title: &'static str,
    /// What the lesson shows, one sentence.
    pub goal: &'static str,
    /// The experiment (a query string without `lesson=`).
    pub query: &'static str,
    /// The steps, in order.
    pub steps: &'static [&'static str],
}

impl Lesson {
    /// The lesson's link (query string, without `?`).
    pub fn link(&self) -> String {
        format!("{}&lesson={}", self.query, self.id)
    }

    /// The lesson with this id.
    pub fn find(id: &str) -> Option<&'static Lesson> {
        LESSONS.iter().find(|l| l.id == id)
    }
}

/// Every lesson, in course order.
pub static LESSONS: &[Lesson] = &[
    Lesson {
        id: "why-meta-learning",
        title: "1. Why meta-learning: MAML against pre-training",
        goal: "Training on many tasks is not enough; training to adapt is what makes ten points suffice.",
        query: "v=1&task=sine&runs=maml,pretrain&k=10&iters=6000&n=10",
        steps: &[
            "Press Train and watch the meta-loss chart: MAML's loss falls, pre-training's stays high.",
            "After a few thousand iterations look at the fit chart: the thick MAML curve (ten steps) follows the grey sine; pre-training's barely moves.",
            "Press New task a few times: MAML fits each new sine from its ten points, which it never saw in training.",
            "Clear the points and click three of your own on one half of the chart: MAML still draws a sine through them.",
        ],
    },
    Lesson {
        id: "first-order",
        title: "2. First-order is cheaper — is it worse?",
        goal: "First-order MAML drops the second derivatives: see what that costs in accuracy and what it saves in time.",
        query: "v=1&task=sine&runs=maml,fomaml&iters=6000&n=1",
        steps: &[
            "Press Train: both curves fall; the status bar shows each run's milliseconds per iteration.",
            "Compare the thin one-step curves on the fit chart: with one inner step the two are close.",
            "Select the MAML run and press Check gradients: the exact meta-gradient agrees with finite differences to about 1e-10 of its length (f64); first-order MAML's differs from it by about 30% before training, and by more than its own length after a few thousand iterations, where the exact meta-gradient has become small and the first-order one has not.",
            "Set inner steps to 5 for both runs and check again before training: the gap grows from about 30% to about 100% of the gradient's length.",
        ],
    },
    Lesson {
        id: "reptile",
        title: "3. Reptile: no gradient through the inner loop",
        goal: "Reptile only moves the initialisation towards where each task's training ended, and it still learns to learn.",
        query: "v=1&task=sine-reptile&runs=reptile&iters=10000&n=32",
        steps: &[
            "Press Train: Reptile's loss falls even though it never differentiates through its 32-point inner loop.",
            "On the fit chart, raise N steps from 1 to 8, 16 and 32: every step improves the fit, as in the paper's figure.",
            "Note the data budget: Reptile sees 50 points per task in training, MAML 20.",
        ],
    },
    Lesson {
        id: "learned-rates",
        title: "4. Learned learning rates: Meta-SGD and a learned optimiser",
        goal: "Meta-learning can learn the inner optimiser itself: a step size per weight, then a momentum too.",
        query: "v=1&task=sine&runs=metasgd-momentum,metasgd,maml&inner_steps=5&clip=100&iters=8000&n=5",
        steps: &[
            "Press Train: the learned optimiser and Meta-SGD fall below MAML with the same five inner steps.",
            "Compare the thick five-step curves on the fit chart.",
            "Set N steps to 20: the learned rates were tuned for five steps; past them the fit can overshoot, and the chart says so.",
        ],
    },
    Lesson {
        id: "model-based",
        title: "5. Adapting without gradients: a neural process",
        goal: "A model-based learner reads the support points and predicts at once, with an uncertainty band.",
        query: "v=1&task=sine&runs=maml,cnp&iters=8000&n=10",
        steps: &[
            "Press Train and watch both losses fall.",
            "Clear the points on the fit chart: the CNP's band is wide everywhere; it has read nothing.",
            "Add points one at a time: the band narrows around each point at once, no gradient step taken; MAML needs its N steps.",
        ],
    },
    Lesson {
        id: "bandits-rl2",
        title: "6. Bandits: exploration, learned",
        goal: "A recurrent policy trained across many bandits learns when to explore and when to commit, close to the Bayes-optimal policy.",
        query: "v=1&task=bandit&setting=dependent-medium&agent=rl2&iters=600",
        steps: &[
            "Press Train: the training chart rises as RL² learns to find the better arm.",
            "After training, compare the regret chart: RL² against Thompson sampling, UCB1 and the Bayes-optimal policy on the same bandits.",
            "Play a bandit yourself below the charts, then see your regret beside every policy's.",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::url::decode;

    #[test]
    fn every_lesson_link_decodes_without_problems_and_names_its_lesson() {
        for lesson in LESSONS {
            let (e, problems) = decode(&lesson.link());
            assert!(problems.is_empty(), "{}: {problems:?}", lesson.id);
            assert_eq!(e.view.lesson.as_deref(), Some(lesson.id));
            assert!(!lesson.steps.is_empty());
        }
    }

    #[test]
    fn an_unknown_lesson_is_reported_with_the_accepted_ids() {
        let (e, problems) = decode("lesson=nope");
        assert_eq!(e.view.lesson, None);
        assert!(problems[0].contains("`lesson`"), "{problems:?}");
        assert!(problems[0].contains("why-meta-learning"), "{problems:?}");
    }
}
