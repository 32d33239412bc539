//! The text beside the widgets: what each learner learns, what its inner and outer loops do (its
//! update rule as MathML, which current browsers lay out natively), what each chart shows and
//! what to try. Static, trusted HTML: the page inserts it as it is.

use crate::engine::meta::Algo;
use crate::experiment::AgentAlgo;

/// The explanation of one learner or chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Stable name (`data-testid="explain-<key>"`).
    pub key: &'static str,
    /// Heading.
    pub title: &'static str,
    /// The one-line version (embed mode).
    pub line: &'static str,
    /// Paragraphs, HTML.
    pub body: &'static str,
    /// The update rules, MathML (`<math display="block">` elements), or empty.
    pub formula: &'static str,
    /// What to try, HTML (a sentence or two).
    pub try_this: &'static str,
    /// Papers: `(label, link)`, arXiv pages where the paper is there.
    pub refs: &'static [(&'static str, &'static str)],
}

const MAML_PAPER: (&str, &str) = (
    "Finn, Abbeel, Levine 2017",
    "https://arxiv.org/abs/1703.03400",
);
const REPTILE_PAPER: (&str, &str) = (
    "Nichol, Achiam, Schulman 2018",
    "https://arxiv.org/abs/1803.02999",
);
const META_SGD_PAPER: (&str, &str) = (
    "Li, Zhou, Chen, Li 2017",
    "https://arxiv.org/abs/1707.09835",
);
const L2L_PAPER: (&str, &str) = (
    "Andrychowicz et al. 2016",
    "https://arxiv.org/abs/1606.04474",
);
const CNP_PAPER: (&str, &str) = ("Garnelo et al. 2018", "https://arxiv.org/abs/1807.01613");
const HYPERNET_PAPER: (&str, &str) = ("Ha, Dai, Le 2016", "https://arxiv.org/abs/1609.09106");
const FILM_PAPER: (&str, &str) = ("Perez et al. 2018", "https://arxiv.org/abs/1709.07871");
const RL2_PAPER: (&str, &str) = ("Duan et al. 2016", "https://arxiv.org/abs/1611.02779");
const WANG_PAPER: (&str, &str) = ("Wang et al. 2016", "https://arxiv.org/abs/1611.05763");

/// `θ′ᵢ = θ − α ∇θ L_i^sup(θ)`.
const INNER_STEP: &str = r#"<math display="block"><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo>=</mo><mi>θ</mi><mo>−</mo><mi>α</mi><mo>&#x2062;</mo><msub><mo>∇</mo><mi>θ</mi></msub><msubsup><mi>ℒ</mi><mi>i</mi><mtext>support</mtext></msubsup><mo stretchy="false">(</mo><mi>θ</mi><mo stretchy="false">)</mo></math>"#;

const MAML_FORMULA: &str = concat!(
    r#"<math display="block"><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo>=</mo><mi>θ</mi><mo>−</mo><mi>α</mi><mo>&#x2062;</mo><msub><mo>∇</mo><mi>θ</mi></msub><msubsup><mi>ℒ</mi><mi>i</mi><mtext>support</mtext></msubsup><mo stretchy="false">(</mo><mi>θ</mi><mo stretchy="false">)</mo></math>"#,
    r#"<math display="block"><mi>θ</mi><mo>←</mo><mi>θ</mi><mo>−</mo><mi>η</mi><mo>&#x2062;</mo><msub><mo>∇</mo><mi>θ</mi></msub><munder><mo>∑</mo><mi>i</mi></munder><msubsup><mi>ℒ</mi><mi>i</mi><mtext>query</mtext></msubsup><mo stretchy="false">(</mo><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo stretchy="false">)</mo></math>"#,
);

const FOMAML_FORMULA: &str = concat!(
    r#"<math display="block"><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo>=</mo><mi>θ</mi><mo>−</mo><mi>α</mi><mo>&#x2062;</mo><msub><mo>∇</mo><mi>θ</mi></msub><msubsup><mi>ℒ</mi><mi>i</mi><mtext>support</mtext></msubsup><mo stretchy="false">(</mo><mi>θ</mi><mo stretchy="false">)</mo></math>"#,
    r#"<math display="block"><mi>θ</mi><mo>←</mo><mi>θ</mi><mo>−</mo><mi>η</mi><munder><mo>∑</mo><mi>i</mi></munder><msub><mo>∇</mo><msup><mi>θ</mi><mo>′</mo></msup></msub><msubsup><mi>ℒ</mi><mi>i</mi><mtext>query</mtext></msubsup><mo stretchy="false">(</mo><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo stretchy="false">)</mo><mspace width="1em"/><mtext>(∂θ′/∂θ taken as the identity)</mtext></math>"#,
);

const REPTILE_FORMULA: &str = concat!(
    r#"<math display="block"><msub><mover><mi>φ</mi><mo>~</mo></mover><mi>i</mi></msub><mo>=</mo><msup><mtext>SGD</mtext><mi>k</mi></msup><mo stretchy="false">(</mo><mi>φ</mi><mo>,</mo><msub><mi>T</mi><mi>i</mi></msub><mo stretchy="false">)</mo></math>"#,
    r#"<math display="block"><mi>φ</mi><mo>←</mo><mi>φ</mi><mo>+</mo><mi>ε</mi><mfrac><mn>1</mn><mi>n</mi></mfrac><munder><mo>∑</mo><mi>i</mi></munder><mo stretchy="false">(</mo><msub><mover><mi>φ</mi><mo>~</mo></mover><mi>i</mi></msub><mo>−</mo><mi>φ</mi><mo stretchy="false">)</mo></math>"#,
);

const META_SGD_FORMULA: &str = concat!(
    r#"<math display="block"><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo>=</mo><mi>θ</mi><mo>−</mo><mi>α</mi><mo>⊙</mo><msub><mo>∇</mo><mi>θ</mi></msub><msubsup><mi>ℒ</mi><mi>i</mi><mtext>support</mtext></msubsup><mo stretchy="false">(</mo><mi>θ</mi><mo stretchy="false">)</mo></math>"#,
    r#"<math display="block"><mo stretchy="false">(</mo><mi>θ</mi><mo>,</mo><mi>α</mi><mo stretchy="false">)</mo><mo>←</mo><mo stretchy="false">(</mo><mi>θ</mi><mo>,</mo><mi>α</mi><mo stretchy="false">)</mo><mo>−</mo><mi>η</mi><mo>&#x2062;</mo><msub><mo>∇</mo><mrow><mi>θ</mi><mo>,</mo><mi>α</mi></mrow></msub><munder><mo>∑</mo><mi>i</mi></munder><msubsup><mi>ℒ</mi><mi>i</mi><mtext>query</mtext></msubsup><mo stretchy="false">(</mo><msubsup><mi>θ</mi><mi>i</mi><mo>′</mo></msubsup><mo stretchy="false">)</mo></math>"#,
);

const MOMENTUM_FORMULA: &str = concat!(
    r#"<math display="block"><msub><mi>m</mi><mrow><mi>s</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><mi>β</mi><mo>⊙</mo><msub><mi>m</mi><mi>s</mi></msub><mo>+</mo><msub><mo>∇</mo><mi>θ</mi></msub><msubsup><mi>ℒ</mi><mi>i</mi><mtext>support</mtext></msubsup><mo stretchy="false">(</mo><msub><mi>θ</mi><mi>s</mi></msub><mo stretchy="false">)</mo><mo>,</mo><mspace width="1em"/><msub><mi>θ</mi><mrow><mi>s</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><msub><mi>θ</mi><mi>s</mi></msub><mo>−</mo><mi>α</mi><mo>⊙</mo><msub><mi>m</mi><mrow><mi>s</mi><mo>+</mo><mn>1</mn></mrow></msub></math>"#,
    r#"<math display="block"><mo stretchy="false">(</mo><msub><mi>θ</mi><mn>0</mn></msub><mo>,</mo><mi>α</mi><mo>,</mo><mi>β</mi><mo stretchy="false">)</mo><mo>←</mo><mo stretchy="false">(</mo><msub><mi>θ</mi><mn>0</mn></msub><mo>,</mo><mi>α</mi><mo>,</mo><mi>β</mi><mo stretchy="false">)</mo><mo>−</mo><mi>η</mi><mo>&#x2062;</mo><mo>∇</mo><munder><mo>∑</mo><mi>i</mi></munder><msubsup><mi>ℒ</mi><mi>i</mi><mtext>query</mtext></msubsup><mo stretchy="false">(</mo><msub><mi>θ</mi><mi>S</mi></msub><mo stretchy="false">)</mo></math>"#,
);

const PRETRAIN_FORMULA: &str = r#"<math display="block"><mi>θ</mi><mo>←</mo><mi>θ</mi><mo>−</mo><mi>η</mi><mo>&#x2062;</mo><msub><mo>∇</mo><mi>θ</mi></msub><munder><mo>∑</mo><mi>i</mi></munder><msub><mi>ℒ</mi><mi>i</mi></msub><mo stretchy="false">(</mo><mi>θ</mi><mo stretchy="false">)</mo><mspace width="1em"/><mtext>(no inner loop)</mtext></math>"#;

const CNP_FORMULA: &str = concat!(
    r#"<math display="block"><mi>r</mi><mo>=</mo><mfrac><mn>1</mn><mi>K</mi></mfrac><munderover><mo>∑</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover><mi>h</mi><mo stretchy="false">(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>,</mo><msub><mi>y</mi><mi>k</mi></msub><mo stretchy="false">)</mo><mo>,</mo><mspace width="1em"/><mo stretchy="false">(</mo><mi>μ</mi><mo>,</mo><mi>σ</mi><mo stretchy="false">)</mo><mo>=</mo><mi>g</mi><mo stretchy="false">(</mo><mi>x</mi><mo>,</mo><mi>r</mi><mo stretchy="false">)</mo></math>"#,
    r#"<math display="block"><mi>ℒ</mi><mo>=</mo><mo>−</mo><munder><mo>∑</mo><mtext>query</mtext></munder><mi>log</mi><mi>𝒩</mi><mo stretchy="false">(</mo><mi>y</mi><mo>;</mo><mi>μ</mi><mo stretchy="false">(</mo><mi>x</mi><mo stretchy="false">)</mo><mo>,</mo><mi>σ</mi><msup><mrow><mo stretchy="false">(</mo><mi>x</mi><mo stretchy="false">)</mo></mrow><mn>2</mn></msup><mo stretchy="false">)</mo></math>"#,
);

const HYPERNET_FORMULA: &str = concat!(
    r#"<math display="block"><msub><mi>h</mi><mi>k</mi></msub><mo>=</mo><mtext>GRU</mtext><mo stretchy="false">(</mo><msub><mi>h</mi><mrow><mi>k</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>,</mo><mo stretchy="false">(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>,</mo><msub><mi>y</mi><mi>k</mi></msub><mo stretchy="false">)</mo><mo stretchy="false">)</mo><mo>,</mo><mspace width="1em"/><mo stretchy="false">(</mo><mi>Δ</mi><mi>w</mi><mo>,</mo><mi>Δ</mi><mi>b</mi><mo>,</mo><mi>Δ</mi><mi>γ</mi><mo>,</mo><mi>Δ</mi><mi>β</mi><mo stretchy="false">)</mo><mo>=</mo><mi>E</mi><mo>&#x2062;</mo><msub><mi>h</mi><mi>K</mi></msub></math>"#,
    r#"<math display="block"><mover><mi>y</mi><mo>^</mo></mover><mo>=</mo><mi>σ</mi><mo stretchy="false">(</mo><mo stretchy="false">(</mo><mn>1</mn><mo>+</mo><mi>Δ</mi><mi>γ</mi><mo stretchy="false">)</mo><mo>⊙</mo><mi>z</mi><mo stretchy="false">(</mo><mi>x</mi><mo stretchy="false">)</mo><mo>+</mo><mi>Δ</mi><mi>β</mi><mo stretchy="false">)</mo><mo>·</mo><mo stretchy="false">(</mo><mi>w</mi><mo>+</mo><mi>Δ</mi><mi>w</mi><mo stretchy="false">)</mo><mo>+</mo><mi>b</mi><mo>+</mo><mi>Δ</mi><mi>b</mi></math>"#,
);

const RL2_FORMULA: &str = concat!(
    r#"<math display="block"><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><mtext>GRU</mtext><mo stretchy="false">(</mo><msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>,</mo><mo stretchy="false">[</mo><msub><mi>e</mi><msub><mi>a</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub></msub><mo>,</mo><msub><mi>r</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><msub><mi>e</mi><msub><mi>a</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub></msub><mo>,</mo><msub><mi>r</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>,</mo><mi>t</mi><mo>/</mo><mi>n</mi><mo stretchy="false">]</mo><mo stretchy="false">)</mo><mo>,</mo><mspace width="1em"/><msub><mi>a</mi><mi>t</mi></msub><mo>∼</mo><mi>π</mi><mo stretchy="false">(</mo><mo>·</mo><mo>∣</mo><msub><mi>h</mi><mi>t</mi></msub><mo stretchy="false">)</mo></math>"#,
    r#"<math display="block"><munder><mi>max</mi><mi>ψ</mi></munder><mspace width="0.3em"/><msub><mi>𝔼</mi><mtext>bandits</mtext></msub><mrow><mo>[</mo><munderover><mo>∑</mo><mrow><mi>t</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover><msub><mi>r</mi><mi>t</mi></msub><mo>]</mo></mrow><mspace width="1em"/><mtext>(actor-critic, hidden state reset between bandits)</mtext></math>"#,
);

const SOFTMAX_AGENT_FORMULA: &str = r#"<math display="block"><mi>π</mi><mo stretchy="false">(</mo><mi>a</mi><mo stretchy="false">)</mo><mo>=</mo><mfrac><msup><mi>e</mi><msub><mi>z</mi><mi>a</mi></msub></msup><mrow><msub><mo>∑</mo><mi>b</mi></msub><msup><mi>e</mi><msub><mi>z</mi><mi>b</mi></msub></msup></mrow></mfrac><mo>,</mo><mspace width="1em"/><msup><mi>z</mi><mo>′</mo></msup><mo>=</mo><mi>z</mi><mo>+</mo><mi>α</mi><munder><mo>∑</mo><mi>t</mi></munder><mo stretchy="false">(</mo><msub><mi>r</mi><mi>t</mi></msub><mo>−</mo><mi>b</mi><mo stretchy="false">)</mo><msub><mo>∇</mo><mi>z</mi></msub><mi>log</mi><mi>π</mi><mo stretchy="false">(</mo><msub><mi>a</mi><mi>t</mi></msub><mo stretchy="false">)</mo></math>"#;

/// The explanation of a sine learner.
pub fn of_algo(algo: Algo) -> &'static Explanation {
    match algo {
        Algo::Maml => &MAML,
        Algo::Fomaml => &FOMAML,
        Algo::Reptile => &REPTILE,
        Algo::MetaSgd => &META_SGD,
        Algo::MetaSgdMomentum => &MOMENTUM,
        Algo::Pretrain => &PRETRAIN,
        Algo::Scratch => &SCRATCH,
        Algo::Cnp => &CNP,
        Algo::Hypernet => &HYPERNET,
    }
}

/// The explanation of a bandit agent.
pub fn of_agent(agent: AgentAlgo) -> &'static Explanation {
    match agent {
        AgentAlgo::Rl2 => &RL2,
        _ => &SOFTMAX_AGENT,
    }
}

static MAML: Explanation = Explanation {
    key: "maml",
    title: "MAML: a starting point one gradient step away from every task",
    line: "MAML learns an initialisation θ from which one gradient step on a task's K points fits that task.",
    body: "<p><b>What is learned:</b> the network's initial weights θ. <b>Inner loop</b> (adaptation): for each training task, take gradient steps from θ on its <i>support</i> points. <b>Outer loop</b> (meta-update): move θ so that the adapted weights θ′ fit the task's <i>query</i> points. The meta-gradient flows back <i>through</i> the inner step, so it contains second derivatives (Hessian-vector products); Metaplay computes them exactly.</p>",
    formula: MAML_FORMULA,
    try_this: "Train for a few thousand iterations, then click five points on the fit chart: the thick MAML curve snaps to them after one step, the pre-trained one does not.",
    refs: &[MAML_PAPER],
};

static FOMAML: Explanation = Explanation {
    key: "fomaml",
    title: "First-order MAML: MAML without the second derivatives",
    line: "First-order MAML drops the second-order term of MAML's meta-gradient: cheaper, usually close.",
    body: "<p>The same inner and outer loops as MAML, but the outer gradient is taken at the adapted weights θ′ as if θ′ did not depend on θ. That saves the Hessian-vector products (about 40% of an iteration here) and on sine regression costs little accuracy. A silent version of this approximation — a framework that detaches part of the gradient — is the most common bug in meta-learning code: the gradient check below shows the gap.</p>",
    formula: FOMAML_FORMULA,
    try_this: "Put MAML and first-order MAML side by side (preset “MAML vs first-order MAML”) and compare the one-step curves and the ms per iteration.",
    refs: &[MAML_PAPER],
};

static REPTILE: Explanation = Explanation {
    key: "reptile",
    title: "Reptile: move towards where adaptation ends",
    line: "Reptile trains on a task for k steps, then moves the initialisation a fraction ε towards the result.",
    body: "<p>No query set and no gradient through the inner loop: Reptile runs k steps of SGD (or Adam) on one task's points and nudges the initialisation φ towards the adapted weights φ̃. Averaged over tasks this is a first-order approximation of MAML's objective plus a term that rewards within-task generalisation. Note its data budget: k minibatches per task (50 points in the authors' demo), not MAML's 10 + 10.</p>",
    formula: REPTILE_FORMULA,
    try_this: "Open the “Reptile demo” preset and raise N steps to 32: the curve keeps improving with every step, as in the paper's figure.",
    refs: &[REPTILE_PAPER],
};

static META_SGD: Explanation = Explanation {
    key: "metasgd",
    title: "Meta-SGD: learn the step size of every weight",
    line: "Meta-SGD learns the initialisation and a learning rate per weight, so one step goes further in the right directions.",
    body: "<p>Like MAML, plus a vector α of learning rates, one per parameter, meta-learned with θ through the same outer loop. The inner step is θ′ = θ − α ⊙ ∇ℒ: the learned α decides the direction and length of the step, not only the gradient. With one inner step it beats MAML clearly at K = 5, 10 and 20 (BENCHMARKS.md).</p>",
    formula: META_SGD_FORMULA,
    try_this: "Preset “Meta-SGD vs MAML, one step”: compare the thin (one-step) curves on the fit chart.",
    refs: &[META_SGD_PAPER],
};

static MOMENTUM: Explanation = Explanation {
    key: "metasgd-momentum",
    title: "A learned optimiser: step sizes and momentum, meta-learned",
    line: "The inner optimiser itself is learned: a rate α and a momentum decay β per weight, over several steps.",
    body: "<p>Meta-SGD over S inner steps with heavy-ball momentum whose decay β is learned per parameter too (kept in [0, 0.95]). The meta-gradient goes through all S steps exactly. Learned rates are tuned for the number of steps they were trained with: asked for many more, they can overshoot, which is why the fit chart warns when N exceeds them and why training clips long meta-gradients.</p>",
    formula: MOMENTUM_FORMULA,
    try_this: "Preset “learned optimiser vs Meta-SGD and MAML”: at 5 steps it fits best; then set N to 20 and see what happens past its training horizon.",
    refs: &[META_SGD_PAPER, L2L_PAPER],
};

static PRETRAIN: Explanation = Explanation {
    key: "pretrain",
    title: "Pre-training: the baseline that does not learn to adapt",
    line: "One network trained on all tasks at once, then fine-tuned: why its curve stays flat.",
    body: "<p>Joint training minimises the loss of a single network over all tasks. With random amplitudes and phases, the best single function is a compromise close to the average sine, so its loss stays high: no network can fit every task at once. Fine-tuning it on K points helps a little, because nothing in its training made one step count. Its flat curve is the point of the comparison, not a bug.</p>",
    formula: PRETRAIN_FORMULA,
    try_this: "Preset “MAML paper, Fig. 2”: the orange curve stays far above MAML's after one step and after ten.",
    refs: &[MAML_PAPER],
};

static SCRATCH: Explanation = Explanation {
    key: "scratch",
    title: "From scratch: no meta-training at all",
    line: "A random network fine-tuned on the K points: what K points alone can teach.",
    body: "<p>The reference for everything else: a randomly initialised network trained on the support set by the same inner steps at test time. With 10 points and a few steps it barely moves.</p>",
    formula: INNER_STEP,
    try_this: "Add it beside MAML and raise N: even 100 steps from a random start fit ten points worse than MAML's one.",
    refs: &[MAML_PAPER],
};

static CNP: Explanation = Explanation {
    key: "cnp",
    title: "Conditional neural process: adaptation is reading",
    line: "A CNP reads the support points into a summary r and predicts a mean and an uncertainty at any x: no gradient step.",
    body: "<p><b>Model-based</b> meta-learning. An encoder h turns each support pair into a vector, their mean r summarises the task, and a decoder g maps (x, r) to a Gaussian mean μ and standard deviation σ. Training maximises the likelihood of the query points over many tasks. At test time there is no inner loop: a new point changes r and hence the prediction at once. The shaded band on the fit chart is ±2σ: wide where it has seen nothing.</p>",
    formula: CNP_FORMULA,
    try_this: "Preset “MAML vs CNP”: add points one by one and watch the band shrink around them.",
    refs: &[CNP_PAPER],
};

static HYPERNET: Explanation = Explanation {
    key: "hypernet",
    title: "A recurrent meta-learner that writes the task model",
    line: "A GRU reads the support points one by one and writes the task network's last layer and per-unit scale and shift.",
    body: "<p><b>Model-based</b>, like the CNP, but the output is a <i>model</i>: the GRU's final state is mapped to corrections of the task network's output weights and a scale and shift of its last hidden layer (FiLM). The body network is shared by all tasks; everything is trained end to end on the query loss. Adaptation is one pass of the GRU over the points.</p>",
    formula: HYPERNET_FORMULA,
    try_this: "Compare it with MAML at N = 10: it needs no steps, and its fit depends on the order-free summary it learned to write.",
    refs: &[HYPERNET_PAPER, FILM_PAPER],
};

static SOFTMAX_AGENT: Explanation = Explanation {
    key: "softmax-agent",
    title: "A meta-learned bandit agent: MAML on a policy",
    line: "A softmax policy over arms whose starting logits (and step sizes) are meta-learned, adapted by policy-gradient steps.",
    body: "<p>The agent plays a few pulls, takes a REINFORCE step on its logits z with a reward baseline b, and repeats. The outer loop learns the starting z and b (Meta-SGD: per-arm step sizes too) across many bandits. When arms are symmetric the best start is uniform, so there is little to learn and the training curve is flat; where some arm is usually better, it rises.</p>",
    formula: SOFTMAX_AGENT_FORMULA,
    try_this: "Switch the setting to skewed arms and train again: the curve rises above the untrained agent.",
    refs: &[MAML_PAPER, WANG_PAPER],
};

static RL2: Explanation = Explanation {
    key: "rl2",
    title: "RL²: the learning algorithm is a recurrent network",
    line: "RL²'s GRU hidden state is its bandit algorithm: it learns when to explore and when to commit.",
    body: "<p><b>Memory-based</b> meta-learning. A GRU is fed the previous arm, its reward and the time; its hidden state, kept through the n pulls of one bandit and reset between bandits, is all it knows about the current bandit. An actor-critic trains its weights across many bandits to maximise the total reward. No gradient step happens while it plays: what it learned is how to learn from rewards.</p>",
    formula: RL2_FORMULA,
    try_this: "Preset “RL² on dependent arms”: its total approaches the Bayes-optimal policy's, above Thompson sampling.",
    refs: &[RL2_PAPER, WANG_PAPER],
};

/// The meta-loss chart.
pub static LOSS_CHART: Explanation = Explanation {
    key: "loss-chart",
    title: "Reading the meta-loss chart",
    line: "Lower is better: each run's loss after adaptation on training tasks (line) and on held-out tasks (dots).",
    body: "<p>Each line is one run's meta-training loss at every iteration: the query MSE after the inner loop, on that iteration's training tasks (noisy, because the tasks change). The dots are the same measure on fixed held-out tasks, every few hundred iterations: the fair comparison. A model-based learner's loss is the MSE of its prediction after reading the points. Pre-training's line measures one network on all tasks, which is why it stays high.</p>",
    formula: "",
    try_this: "Switch the log scale off to see how much of the fall happens in the first thousand iterations.",
    refs: &[],
};

/// The few-shot fit chart.
pub static FIT_CHART: Explanation = Explanation {
    key: "fit-chart",
    title: "Reading the fit chart",
    line: "One held-out task: the true curve, the support points and each run before and after adapting to them.",
    body: "<p>Grey is the held-out task's true sine, the dots its support points. For each run, faint is the model before adaptation, thin after one inner step, thick after N steps. Model-based learners take no steps: faint is their guess from no points, thick their reading of the points, and the shaded band their ±2σ. Click the chart to add a point, click a point to remove it: the curves are recomputed at once.</p>",
    formula: "",
    try_this: "Clear the points and add two on one side only: which runs extrapolate a sine, which a straight line?",
    refs: &[],
};

/// The bandit charts.
pub static BANDIT_CHARTS: Explanation = Explanation {
    key: "bandit-charts",
    title: "Reading the bandit charts",
    line: "Expected reward per pull while the agent trains; cumulative regret of every policy on the same bandits.",
    body: "<p>The training chart shows the agent's expected reward per pull over its episodes, computed with the true arm means. The regret chart adds up, pull by pull, how much each policy lost against always pulling the best arm: lower is better, a straight line means it never stops paying for exploration, a curve that flattens means it found the best arm. The oracle knows the means; the Bayes-optimal and Gittins policies are the best any learner could do.</p>",
    formula: "",
    try_this: "Compare the agent's regret with Thompson sampling's after training, then play the same bandit yourself below.",
    refs: &[],
};

/// Every explanation (for tests and the print view).
pub fn all() -> Vec<&'static Explanation> {
    let mut all: Vec<&'static Explanation> = Algo::ALL.into_iter().map(of_algo).collect();
    all.extend([
        &SOFTMAX_AGENT,
        &RL2,
        &LOSS_CHART,
        &FIT_CHART,
        &BANDIT_CHARTS,
    ]);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_learner_has_a_formula() {
        let all = all();
        let mut keys: Vec<&str> = all.iter().map(|e| e.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        for algo in Algo::ALL {
            let e = of_algo(algo);
            assert!(e.formula.starts_with("<math"), "{}", e.key);
            assert!(!e.refs.is_empty(), "{}", e.key);
        }
    }

    #[test]
    fn math_elements_are_balanced() {
        for e in all() {
            for tag in [
                "math", "mrow", "msub", "msup", "msubsup", "mfrac", "munder", "mover",
            ] {
                let open = e.formula.matches(&format!("<{tag}>")).count()
                    + e.formula.matches(&format!("<{tag} ")).count();
                let close = e.formula.matches(&format!("</{tag}>")).count();
                assert_eq!(open, close, "{}: <{tag}>", e.key);
            }
        }
    }
}
