//! Which meta-learner a run uses ([`Algo`]) and how Meta-SGD's rates start ([`LrInit`]).

use serde::{Deserialize, Serialize};

/// The meta-learning algorithm (or baseline) a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// MAML with exact second-order meta-gradients (Finn et al. 2017).
    Maml,
    /// First-order MAML: the inner gradient is detached (Finn et al. 2017, §5.2).
    Fomaml,
    /// Reptile (Nichol et al. 2018).
    Reptile,
    /// Meta-SGD: MAML with a learned per-parameter inner learning rate (Li et al. 2017).
    MetaSgd,
    /// A learned inner optimiser: Meta-SGD with a learned per-parameter momentum decay
    /// ([`momentum`]).
    #[serde(rename = "metasgd-momentum")]
    MetaSgdMomentum,
    /// Joint pre-training on all tasks, fine-tuned at test time (MAML paper baseline).
    Pretrain,
    /// No meta-training: a random initialisation fine-tuned on the support set.
    Scratch,
    /// Conditional neural process (Garnelo et al. 2018): reads the support set, no gradient
    /// step at adaptation.
    Cnp,
    /// A GRU that reads the support points and writes the task network's output layer and
    /// per-unit scale and shift (model-based).
    Hypernet,
}

impl Algo {
    /// Every algorithm, in menu order.
    pub const ALL: [Algo; 9] = [
        Algo::Maml,
        Algo::Fomaml,
        Algo::Reptile,
        Algo::MetaSgd,
        Algo::MetaSgdMomentum,
        Algo::Pretrain,
        Algo::Scratch,
        Algo::Cnp,
        Algo::Hypernet,
    ];

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Maml => "maml",
            Algo::Fomaml => "fomaml",
            Algo::Reptile => "reptile",
            Algo::MetaSgd => "metasgd",
            Algo::MetaSgdMomentum => "metasgd-momentum",
            Algo::Pretrain => "pretrain",
            Algo::Scratch => "scratch",
            Algo::Cnp => "cnp",
            Algo::Hypernet => "hypernet",
        }
    }

    /// True for the learners that adapt by reading the support set, not by gradient steps.
    pub fn is_model_based(self) -> bool {
        matches!(self, Algo::Cnp | Algo::Hypernet)
    }

    /// True for the learners that meta-learn per-parameter inner learning rates (Meta-SGD and
    /// the learned optimiser).
    pub fn learns_inner_lrs(self) -> bool {
        matches!(self, Algo::MetaSgd | Algo::MetaSgdMomentum)
    }

    /// True for the learners whose meta-gradient goes through an inner loop (what "Check
    /// gradients" checks): MAML, first-order MAML, Meta-SGD, the learned optimiser.
    pub fn has_inner_loop_gradient(self) -> bool {
        matches!(
            self,
            Algo::Maml | Algo::Fomaml | Algo::MetaSgd | Algo::MetaSgdMomentum
        )
    }

    /// True for the learners the WebGPU backend has kernels for (all but the model-based ones
    /// and the learned optimiser, which train on the CPU).
    pub fn has_gpu_kernels(self) -> bool {
        !self.is_model_based() && self != Algo::MetaSgdMomentum
    }

    /// Parses a [`Algo::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// How Meta-SGD's per-parameter learning rates start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrInit {
    /// Every rate at the inner learning rate α.
    #[default]
    Constant,
    /// Each rate drawn from U[0.005, 0.1], as Li et al. 2017 (§4.1) initialise them.
    Uniform,
}

impl LrInit {
    /// The range of [`LrInit::Uniform`].
    pub const UNIFORM_RANGE: (f64, f64) = (0.005, 0.1);

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            LrInit::Constant => "constant",
            LrInit::Uniform => "uniform",
        }
    }

    /// Parses a [`LrInit::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [LrInit::Constant, LrInit::Uniform]
            .into_iter()
            .find(|i| i.name() == s)
    }
}
