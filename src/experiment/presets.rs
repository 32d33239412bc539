//! Named, linkable experiments: each is a query string read by [`crate::experiment::url`].

/// `(id, title, query string)` of every preset, in menu order.
pub const PRESETS: [(&str, &str, &str); 8] = [
    (
        "maml-paper",
        "MAML paper, Fig. 2: MAML vs pre-training, K = 10, 1 and 10 steps",
        "v=1&task=sine&runs=maml,pretrain&k=10&iters=10000&n=10",
    ),
    (
        "maml-vs-fomaml",
        "MAML vs first-order MAML",
        "v=1&task=sine&runs=maml,fomaml&iters=10000&n=10",
    ),
    (
        "reptile-demo",
        "Reptile demo (Nichol et al. 2018): 1-64-64-1 tanh, 32 steps",
        "v=1&task=sine-reptile&runs=reptile&iters=30000&n=32",
    ),
    (
        "metasgd-vs-maml",
        "Meta-SGD vs MAML, one step",
        "v=1&task=sine&runs=metasgd,maml&iters=10000&n=1",
    ),
    (
        "maml-vs-cnp",
        "MAML vs a neural process (CNP): gradient steps against reading the support set",
        "v=1&task=sine&runs=maml,cnp&iters=20000&n=10",
    ),
    (
        "learned-optimizer",
        "A learned optimiser (rates and momentum) vs Meta-SGD and MAML, 5 inner steps",
        "v=1&task=sine&runs=metasgd-momentum,metasgd,maml&inner_steps=5&clip=100&iters=20000&n=5",
    ),
    (
        "bandit-dependent",
        "Bandits: meta-learned agent vs Thompson, UCB1… on dependent arms (medium)",
        "v=1&task=bandit&setting=dependent-medium&agent=maml&iters=1000",
    ),
    (
        "rl2-dependent",
        "RL² on dependent arms: a recurrent agent learns to explore (Duan et al. 2016)",
        "v=1&task=bandit&setting=dependent-medium&agent=rl2&iters=3000",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::url::decode;

    #[test]
    fn every_preset_decodes_without_problems() {
        for (id, _, query) in PRESETS {
            let (_, problems) = decode(query);
            assert!(problems.is_empty(), "{id}: {problems:?}");
        }
    }
}
