// Bandit evaluation on the GPU: one invocation plays one episode of one policy, all episodes
// and policies in parallel. The policies are those of `engine/bandit/policies.rs` and the
// softmax agent of `engine/bandit/agent.rs`, the same rules in f32 with a per-invocation PCG
// random stream (so the results agree with the CPU's in distribution, not draw for draw).

const MAX_ARMS: u32 = 100u;

struct Params {
    episodes: u32, arms: u32, pulls: u32, policies: u32,
    adapt_every: u32, marks: u32, seed: u32, pad: u32,
    epsilon: f32, baseline: f32, pad1: f32, pad2: f32,
}

@group(0) @binding(0) var<storage, read> means: array<f32>;      // episodes × arms
@group(0) @binding(1) var<storage, read> agent: array<f32>;      // logits[arms], lr[arms]
@group(0) @binding(2) var<storage, read> kinds: array<u32>;      // policy kind per slot
@group(0) @binding(3) var<storage, read> marks: array<u32>;      // 1-based pull counts
@group(0) @binding(4) var<storage, read_write> totals: array<f32>;  // policies × episodes
@group(0) @binding(5) var<storage, read_write> regrets: array<f32>; // policies × episodes × marks
@group(0) @binding(6) var<uniform> p: Params;
@group(0) @binding(7) var<storage, read_write> done: array<u32>;   // pulls played, per episode

var<private> state: u32;
var<private> pulls_of: array<u32, MAX_ARMS>;
var<private> wins_of: array<u32, MAX_ARMS>;
var<private> theta: array<f32, MAX_ARMS>;
var<private> pi: array<f32, MAX_ARMS>;
var<private> credit: array<f32, MAX_ARMS>;

// PCG (O'Neill 2014), RXS-M-XS output.
fn next_u32() -> u32 {
    state = state * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn hash(x: u32) -> u32 {
    var v = x * 747796405u + 2891336453u;
    v = ((v >> ((v >> 28u) + 4u)) ^ v) * 277803737u;
    return (v >> 22u) ^ v;
}

// Uniform in [0, 1) from the top 24 bits.
fn rand01() -> f32 {
    return f32(next_u32() >> 8u) * (1.0 / 16777216.0);
}

fn below(n: u32) -> u32 {
    return min(u32(rand01() * f32(n)), n - 1u);
}

fn normal() -> f32 {
    let u1 = max(rand01(), 1e-7);
    let u2 = rand01();
    return sqrt(-2.0 * log(u1)) * cos(6.2831853 * u2);
}

// Gamma(a, 1) for a ≥ 1 (Marsaglia & Tsang 2000).
fn gamma(a: f32) -> f32 {
    let d = a - 1.0 / 3.0;
    let c = 1.0 / sqrt(9.0 * d);
    for (var tries = 0u; tries < 64u; tries++) {
        let x = normal();
        let v0 = 1.0 + c * x;
        if (v0 <= 0.0) {
            continue;
        }
        let v = v0 * v0 * v0;
        let u = max(rand01(), 1e-7);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) {
            return d * v;
        }
    }
    return d;
}

// Index of the largest score, a uniformly random one among exact ties (reservoir sampling).
// kind 1: posterior mean of Beta(1, 1); 3: UCB1; 4: a Thompson draw.
fn argmax(kind: u32, k: u32, t: u32) -> u32 {
    var best = -1e30;
    var chosen = 0u;
    var ties = 0u;
    let log_t = log(f32(max(t, 1u)));
    for (var a = 0u; a < k; a++) {
        let n = f32(pulls_of[a]);
        let s = f32(wins_of[a]);
        var v = 0.0;
        if (kind == 1u) {
            v = (s + 1.0) / (n + 2.0);
        } else if (kind == 3u) {
            v = s / n + sqrt(2.0 * log_t / n);
        } else {
            let x = gamma(1.0 + s);
            let y = gamma(1.0 + n - s);
            v = x / (x + y);
        }
        if (v > best) {
            best = v;
            chosen = a;
            ties = 1u;
        } else if (v == best) {
            ties += 1u;
            if (below(ties) == 0u) {
                chosen = a;
            }
        }
    }
    return chosen;
}

// kinds: 0 random, 1 greedy, 2 ε-greedy, 3 UCB1, 4 Thompson, 5 oracle, 6 agent.
fn choose(kind: u32, k: u32, t: u32, best_arm: u32) -> u32 {
    switch kind {
        case 0u: { return below(k); }
        case 2u: {
            if (rand01() < p.epsilon) {
                return below(k);
            }
            return argmax(1u, k, t);
        }
        case 3u: {
            for (var a = 0u; a < k; a++) {
                if (pulls_of[a] == 0u) {
                    return a;
                }
            }
            return argmax(3u, k, t);
        }
        case 5u: { return best_arm; }
        default: { return argmax(kind, k, t); }
    }
}

@compute @workgroup_size(64)
fn episode(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let id = gid.x + gid.y * g.x * 64u;
    if (id >= p.episodes * p.policies) {
        return;
    }
    let slot = id / p.episodes;
    let e = id % p.episodes;
    let kind = kinds[slot];
    let k = p.arms;
    state = hash(p.seed ^ hash(slot * 1000003u + 17u) ^ hash(e + 0x9e3779b9u));
    let m0 = e * k;
    var best_arm = 0u;
    var best = means[m0];
    for (var a = 0u; a < k; a++) {
        pulls_of[a] = 0u;
        wins_of[a] = 0u;
        theta[a] = agent[a];
        if (means[m0 + a] > best) {
            best = means[m0 + a];
            best_arm = a;
        }
    }
    var total = 0.0;
    var regret = 0.0;
    var next_mark = 0u;
    let out = (slot * p.episodes + e) * p.marks;
    var t = 0u;
    let every = max(p.adapt_every, 1u);
    while (t < p.pulls) {
        // the agent plays blocks of `every` pulls with a fixed softmax, then adapts
        let len = min(every, p.pulls - t);
        if (kind == 6u) {
            var top = theta[0];
            for (var a = 1u; a < k; a++) {
                top = max(top, theta[a]);
            }
            var z = 0.0;
            for (var a = 0u; a < k; a++) {
                pi[a] = exp(theta[a] - top);
                z += pi[a];
                credit[a] = 0.0;
            }
            for (var a = 0u; a < k; a++) {
                pi[a] /= z;
            }
        }
        let block = select(1u, len, kind == 6u);
        for (var i = 0u; i < block; i++) {
            var arm = 0u;
            if (kind == 6u) {
                let u = rand01();
                var acc = 0.0;
                arm = k - 1u;
                for (var a = 0u; a < k; a++) {
                    acc += pi[a];
                    if (u < acc) {
                        arm = a;
                        break;
                    }
                }
            } else {
                arm = choose(kind, k, t, best_arm);
            }
            let mu = means[m0 + arm];
            let r = select(0.0, 1.0, rand01() < mu);
            total += r;
            regret += best - mu;
            pulls_of[arm] += 1u;
            wins_of[arm] += u32(r);
            credit[arm] += r - p.baseline;
            t += 1u;
            if (next_mark < p.marks && marks[next_mark] == t) {
                regrets[out + next_mark] = regret;
                next_mark += 1u;
            }
        }
        if (kind == 6u) {
            var s = 0.0;
            for (var a = 0u; a < k; a++) {
                s += credit[a];
            }
            for (var a = 0u; a < k; a++) {
                theta[a] += agent[k + a] * (credit[a] - s * pi[a]) / f32(block);
            }
        }
    }
    totals[slot * p.episodes + e] = total;
    // the host checks that every episode ran to the end: llvmpipe's loop limiter, for one,
    // cuts long episodes short without an error
    done[slot * p.episodes + e] = t;
}
