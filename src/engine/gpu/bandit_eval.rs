//! The bandit evaluation protocol ([`crate::engine::bandit::eval::evaluate`]) on the GPU: every
//! episode of every policy is one invocation of `bandit.wgsl`, all in one dispatch. Same bandits
//! (drawn on the host from the evaluation seed), same policies and agent, f32 and a PCG stream
//! per invocation, so the reports agree with the CPU's in distribution (tested), not draw for
//! draw.
//!
//! The kernel knows Bernoulli arms and the six policies of [`Baseline::all`] plus the softmax
//! agent. Other policies (optimistic Thompson sampling, the Gittins index, the Bayes-optimal
//! programme) are routed to the CPU protocol ([`evaluate`]) inside [`evaluate_gpu`], their
//! reports in their place; families whose rewards are not Bernoulli (the informative arm) are
//! refused ([`crate::error::GpuError::Unsupported`]), so callers fall back to the CPU with a
//! notice.

use crate::engine::bandit::eval::{curve_points, eval_tasks, evaluate, Policy, PolicyReport};
use crate::engine::bandit::policies::Baseline;
use crate::engine::gpu::GpuContext;
use crate::engine::tasks::BanditFamily;
use crate::error::{Error, Result};

/// Most arms the kernel holds per invocation (the playground's limit).
pub const MAX_ARMS: usize = 100;

/// The kernel's number for `policy`, `None` when the kernel does not have it.
fn kind(policy: &Policy) -> Option<u32> {
    Some(match policy {
        Policy::Baseline(Baseline::Random) => 0,
        Policy::Baseline(Baseline::Greedy) => 1,
        Policy::Baseline(Baseline::EpsGreedy { .. }) => 2,
        Policy::Baseline(Baseline::Ucb1) => 3,
        Policy::Baseline(Baseline::Thompson) => 4,
        Policy::Baseline(Baseline::Oracle) => 5,
        Policy::Agent(..) => 6,
        Policy::Baseline(Baseline::OptimisticThompson)
        | Policy::Gittins(_)
        | Policy::BayesOptimal(_)
        | Policy::Recurrent(..) => return None,
    })
}

/// True when the GPU kernel plays `policy` ([`evaluate_gpu`] routes the others to the CPU).
pub fn on_device(policy: &Policy) -> bool {
    kind(policy).is_some()
}

fn storage(ctx: &GpuContext, label: &str, bytes: &[u8], writable: bool) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    let usage = if writable {
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC
    } else {
        wgpu::BufferUsages::STORAGE
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage,
        })
}

fn f32_bytes(v: impl IntoIterator<Item = f64>) -> Vec<u8> {
    v.into_iter()
        .flat_map(|x| (x as f32).to_le_bytes())
        .collect()
}

fn u32_bytes(v: impl IntoIterator<Item = u32>) -> Vec<u8> {
    v.into_iter().flat_map(u32::to_le_bytes).collect()
}

/// [`crate::engine::bandit::eval::evaluate`] on the GPU: `policies` (the six baselines and at
/// most one agent, one ε; any others on the CPU, see the module docs) on `episodes` bandits of
/// `family` from `seed`, reports in the order of `policies`.
pub async fn evaluate_gpu(
    ctx: &GpuContext,
    family: &BanditFamily,
    policies: &[Policy],
    episodes: usize,
    seed: u64,
    points: usize,
) -> Result<Vec<PolicyReport>> {
    if !family.setting.is_bernoulli() {
        return Err(Error::gpu_unsupported(format!(
            "{}: the GPU evaluation plays Bernoulli arms only",
            family.setting.name()
        )));
    }
    let (device, host): (Vec<Policy>, Vec<Policy>) = policies.iter().cloned().partition(on_device);
    let mut on_gpu = if device.is_empty() {
        Vec::new()
    } else {
        evaluate_on_device(ctx, family, &device, episodes, seed, points).await?
    }
    .into_iter();
    let mut on_cpu = evaluate(family, &host, episodes, seed, points).into_iter();
    Ok(policies
        .iter()
        .filter_map(|p| {
            if on_device(p) {
                on_gpu.next()
            } else {
                on_cpu.next()
            }
        })
        .collect())
}

/// The kernel's part of [`evaluate_gpu`]: every policy in `policies` has a [`kind`].
async fn evaluate_on_device(
    ctx: &GpuContext,
    family: &BanditFamily,
    policies: &[Policy],
    episodes: usize,
    seed: u64,
    points: usize,
) -> Result<Vec<PolicyReport>> {
    ctx.check()?;
    let k = family.arms;
    if k > MAX_ARMS || k == 0 {
        return Err(Error::gpu_unsupported(format!(
            "{k} arms; the GPU evaluation takes 1..={MAX_ARMS}"
        )));
    }
    let kinds = policies
        .iter()
        .map(|p| {
            kind(p)
                .ok_or_else(|| Error::gpu_unsupported(format!("{} runs on the CPU only", p.name())))
        })
        .collect::<Result<Vec<u32>>>()?;
    let agents: Vec<_> = policies
        .iter()
        .filter_map(|p| match p {
            Policy::Agent(_, a) => Some(a),
            _ => None,
        })
        .collect();
    if agents.len() > 1 {
        return Err(Error::gpu_unsupported("the GPU evaluation takes one agent"));
    }
    let epsilons: Vec<f64> = policies
        .iter()
        .filter_map(|p| match p {
            Policy::Baseline(Baseline::EpsGreedy { epsilon }) => Some(*epsilon),
            _ => None,
        })
        .collect();
    if epsilons.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::gpu_unsupported("the GPU evaluation takes one ε"));
    }
    let slots = policies.len();
    let invocations = episodes * slots;
    let marks = curve_points(family.pulls, points);
    let largest = (invocations * marks.len().max(1) * 4) as u64;
    if invocations == 0 || largest > ctx.max_buffer_bytes() {
        return Err(Error::too_large(format!(
            "{episodes} episodes × {slots} policies × {} curve points do not fit this device's \
             buffers ({} bytes at most)",
            marks.len(),
            ctx.max_buffer_bytes()
        )));
    }
    let tasks = eval_tasks(family, episodes, seed);
    let (logits, baseline, lr, every) = match agents.first() {
        Some(a) => {
            let (l, b, r, m) = a.parts();
            (l.to_vec(), b, r.to_vec(), m)
        }
        None => (vec![0.0; k], 0.0, vec![0.0; k], 1),
    };
    let means = storage(
        ctx,
        "bandit means",
        &f32_bytes(tasks.iter().flat_map(|t| t.means.iter().copied())),
        false,
    );
    let agent = storage(
        ctx,
        "agent",
        &f32_bytes(logits.into_iter().chain(lr)),
        false,
    );
    let kinds = storage(ctx, "kinds", &u32_bytes(kinds), false);
    let marks_buf = storage(
        ctx,
        "marks",
        &u32_bytes(marks.iter().map(|&m| m as u32)),
        false,
    );
    let totals_len = invocations * 4;
    let regrets_len = invocations * marks.len() * 4;
    let totals = storage(ctx, "totals", &vec![0u8; totals_len], true);
    let regrets = storage(ctx, "regrets", &vec![0u8; regrets_len], true);
    let done = storage(ctx, "done", &vec![0u8; totals_len], true);
    let mut params = u32_bytes([
        episodes as u32,
        k as u32,
        family.pulls as u32,
        slots as u32,
        every as u32,
        marks.len() as u32,
        (seed ^ (seed >> 32)) as u32,
        0,
    ]);
    params.extend(f32_bytes([
        epsilons.first().copied().unwrap_or(0.0),
        baseline,
        0.0,
        0.0,
    ]));
    let uniform = {
        use wgpu::util::DeviceExt;
        ctx.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("bandit params"),
                contents: &params,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    };
    let pipeline = ctx.pipeline("bandit episode", |device| {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("bandit.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("bandit.wgsl").into()),
        });
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("bandit episode"),
            layout: None,
            module: &module,
            entry_point: Some("episode"),
            compilation_options: Default::default(),
            cache: None,
        })
    });
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("bandit"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            &means, &agent, &kinds, &marks_buf, &totals, &regrets, &uniform, &done,
        ]
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect::<Vec<_>>(),
    });
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("bandit staging"),
        size: (2 * totals_len + regrets_len) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let groups = invocations.div_ceil(64) as u32;
    let (gx, gy) = if groups <= 65_535 {
        (groups, 1)
    } else {
        (65_535, groups.div_ceil(65_535))
    };
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("bandit evaluation"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("episodes"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }
    encoder.copy_buffer_to_buffer(&totals, 0, &staging, 0, totals_len as u64);
    encoder.copy_buffer_to_buffer(&regrets, 0, &staging, totals_len as u64, regrets_len as u64);
    encoder.copy_buffer_to_buffer(
        &done,
        0,
        &staging,
        (totals_len + regrets_len) as u64,
        totals_len as u64,
    );
    ctx.queue.submit([encoder.finish()]);

    let (tx, rx) = futures_channel::oneshot::channel();
    let slice = staging.slice(..);
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::device_lost(format!("waiting for the GPU: {e}")))?;
    rx.await
        .map_err(|_| Error::device_lost("the readback was cancelled"))?
        .map_err(|e| Error::device_lost(format!("reading results back: {e}")))?;
    ctx.check()?;
    let words: Vec<[u8; 4]> = {
        let view = slice
            .get_mapped_range()
            .map_err(|e| Error::device_lost(format!("reading results back: {e:?}")))?;
        view.chunks_exact(4)
            .map(|b| [b[0], b[1], b[2], b[3]])
            .collect()
    };
    staging.unmap();
    let (values, played) = words.split_at(invocations + invocations * marks.len());
    let short = played
        .iter()
        .filter(|w| u32::from_le_bytes(**w) as usize != family.pulls)
        .count();
    if short > 0 {
        return Err(Error::too_large(format!(
            "the device stopped {short} of {invocations} episodes before their {} pulls (a software adapter's loop limit?)",
            family.pulls
        )));
    }
    let values: Vec<f64> = values
        .iter()
        .map(|w| f64::from(f32::from_le_bytes(*w)))
        .collect();
    let (totals, regrets) = values.split_at(invocations);
    let sums =
        |v: &mut dyn Iterator<Item = f64>| v.fold((0.0, 0.0), |(s, q), x| (s + x, q + x * x));
    Ok(policies
        .iter()
        .enumerate()
        .map(|(slot, policy)| {
            let totals = sums(
                &mut totals[slot * episodes..(slot + 1) * episodes]
                    .iter()
                    .copied(),
            );
            let (reg, reg_sq): (Vec<f64>, Vec<f64>) = (0..marks.len())
                .map(|j| {
                    sums(
                        &mut (0..episodes)
                            .map(|e| regrets[(slot * episodes + e) * marks.len() + j]),
                    )
                })
                .unzip();
            PolicyReport::from_sums(
                policy.name(),
                episodes,
                totals,
                marks.clone(),
                &reg,
                &reg_sq,
            )
        })
        .collect())
}
