//! A fixed list of kernel dispatches over named buffers, recorded once and replayed every
//! meta-iteration: no shader, bind group or parameter block is created while training.

use crate::engine::gpu::context::GpuContext;
use crate::engine::gpu::shader::kernels_source;
use crate::error::{Error, Result};

/// The kernels of `kernels.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Batched strided matrix product.
    Gemm,
    /// Bias add and activation with its slope.
    BiasAct,
    /// Output delta and per-task MSE.
    Mse,
    /// Mean of the per-task losses into the loss ring.
    MeanLoss,
    /// Column sums (bias gradients).
    RowSum,
    /// `w0 = (w0) + α·r0`.
    Axpy,
    /// Elementwise products.
    Mul,
    /// Per-parameter learning rate times a per-task vector.
    ScaleLr,
    /// Inner SGD step.
    InnerSgd,
    /// Reptile's inner Adam step.
    InnerAdam,
    /// Sum over tasks.
    TaskSum,
    /// The outer Adam or SGD update.
    OuterUpdate,
}

impl Kernel {
    const ALL: [Kernel; 12] = [
        Kernel::Gemm,
        Kernel::BiasAct,
        Kernel::Mse,
        Kernel::MeanLoss,
        Kernel::RowSum,
        Kernel::Axpy,
        Kernel::Mul,
        Kernel::ScaleLr,
        Kernel::InnerSgd,
        Kernel::InnerAdam,
        Kernel::TaskSum,
        Kernel::OuterUpdate,
    ];

    fn entry(self) -> &'static str {
        match self {
            Kernel::Gemm => "gemm",
            Kernel::BiasAct => "bias_act",
            Kernel::Mse => "mse",
            Kernel::MeanLoss => "mean_loss",
            Kernel::RowSum => "row_sum",
            Kernel::Axpy => "axpy",
            Kernel::Mul => "mul",
            Kernel::ScaleLr => "scale_lr",
            Kernel::InnerSgd => "inner_sgd",
            Kernel::InnerAdam => "inner_adam",
            Kernel::TaskSum => "task_sum",
            Kernel::OuterUpdate => "outer_update",
        }
    }
}

/// The parameter block of one dispatch (the WGSL `Params`): sizes, operand addressing
/// `off + b·bs + row·rs + col·cs`, a flag and four scalars.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Params {
    /// Rows (or elements of a 1-D kernel).
    pub m: u32,
    /// Columns.
    pub n: u32,
    /// Inner dimension of a product.
    pub k: u32,
    /// Tasks.
    pub batch: u32,
    /// First operand: offset, task stride, row stride, column stride.
    pub a: [u32; 4],
    /// Second operand, likewise.
    pub b: [u32; 4],
    /// Result: offset, task stride, row stride.
    pub c: [u32; 3],
    /// Kernel-specific switches.
    pub flag: u32,
    /// First scalar.
    pub alpha: f32,
    /// Second scalar.
    pub beta: f32,
}

impl Params {
    fn bytes(&self) -> [u8; 80] {
        let mut words = [0u32; 20];
        words[..4].copy_from_slice(&[self.m, self.n, self.k, self.batch]);
        words[4..8].copy_from_slice(&self.a);
        words[8..12].copy_from_slice(&self.b);
        words[12..15].copy_from_slice(&self.c);
        words[15] = self.flag;
        words[16] = self.alpha.to_bits();
        words[17] = self.beta.to_bits();
        let mut out = [0u8; 80];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// A buffer of the program, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buf(usize);

/// One dispatch: kernel, buffers bound to r0..r3 and w0, w1, parameters and workgroups.
#[derive(Clone, Debug)]
struct Op {
    kernel: Kernel,
    reads: [Option<Buf>; 4],
    writes: [Option<Buf>; 2],
    params: Params,
    groups: [u32; 3],
}

/// Builds a program: declare buffers, append dispatches, then [`ProgramBuilder::finish`].
pub struct ProgramBuilder {
    ctx: GpuContext,
    buffers: Vec<(String, u64)>,
    ops: Vec<Op>,
}

/// Largest workgroup count per dimension WebGPU guarantees.
const MAX_GROUPS: u32 = 65535;

/// Workgroups for a 1-D kernel of 64 threads over `n` items.
fn groups_1d(n: usize) -> [u32; 3] {
    let g = n.div_ceil(64).max(1) as u32;
    if g <= MAX_GROUPS {
        [g, 1, 1]
    } else {
        [MAX_GROUPS, g.div_ceil(MAX_GROUPS), 1]
    }
}

impl ProgramBuilder {
    /// An empty program on `ctx`.
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            ctx: ctx.clone(),
            buffers: Vec::new(),
            ops: Vec::new(),
        }
    }

    /// Declares a zero-filled f32 buffer of `len` elements.
    pub fn buffer(&mut self, name: &str, len: usize) -> Buf {
        self.buffers
            .push((name.to_string(), (len.max(1) * 4) as u64));
        Buf(self.buffers.len() - 1)
    }

    /// Appends a dispatch of a 1-D kernel over `items` threads.
    pub fn op(
        &mut self,
        kernel: Kernel,
        reads: &[Buf],
        writes: &[Buf],
        params: Params,
        items: usize,
    ) {
        self.push(kernel, reads, writes, params, groups_1d(items));
    }

    /// Appends a batched matrix product `C = (C) + α·op(A)·op(B)`.
    pub fn gemm(&mut self, a: Buf, b: Buf, c: Buf, params: Params) {
        let groups = [
            params.n.div_ceil(32), // 8 invocations × 4 columns
            params.m.div_ceil(8),
            params.batch.max(1),
        ];
        self.push(Kernel::Gemm, &[a, b], &[c], params, groups);
    }

    fn push(
        &mut self,
        kernel: Kernel,
        reads: &[Buf],
        writes: &[Buf],
        params: Params,
        groups: [u32; 3],
    ) {
        let mut r = [None; 4];
        let mut w = [None; 2];
        for (slot, b) in r.iter_mut().zip(reads) {
            *slot = Some(*b);
        }
        for (slot, b) in w.iter_mut().zip(writes) {
            *slot = Some(*b);
        }
        self.ops.push(Op {
            kernel,
            reads: r,
            writes: w,
            params,
            groups,
        });
    }

    /// Creates the buffers, pipelines, parameter blocks and bind groups.
    pub fn finish(self) -> Result<Program> {
        let device = &self.ctx.device;
        let max = self.ctx.max_buffer_bytes();
        for (name, bytes) in &self.buffers {
            if *bytes > max {
                return Err(Error::too_large(format!(
                    "buffer `{name}` needs {bytes} bytes, the device allows {max}: use fewer tasks or smaller layers"
                )));
            }
        }
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        let buffers: Vec<wgpu::Buffer> = self
            .buffers
            .iter()
            .map(|(name, bytes)| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(name),
                    size: *bytes,
                    usage: storage,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let dummy = |label: &str| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        let dummies_r: Vec<wgpu::Buffer> = (0..4).map(|_| dummy("unused read")).collect();
        let dummies_w: Vec<wgpu::Buffer> = (0..2).map(|_| dummy("unused write")).collect();

        let entry = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let read = wgpu::BufferBindingType::Storage { read_only: true };
        let write = wgpu::BufferBindingType::Storage { read_only: false };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("kernels"),
            entries: &[
                entry(0, read),
                entry(1, read),
                entry(2, read),
                entry(3, read),
                entry(4, write),
                entry(5, write),
                entry(6, wgpu::BufferBindingType::Uniform),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("kernels"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("kernels.wgsl"),
            source: wgpu::ShaderSource::Wgsl(kernels_source().into()),
        });
        let pipelines: Vec<wgpu::ComputePipeline> = Kernel::ALL
            .iter()
            .map(|k| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(k.entry()),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(k.entry()),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .collect();

        // every dispatch's parameters in one uniform buffer, 256-byte aligned
        let stride = u64::from(device.limits().min_uniform_buffer_offset_alignment).max(256);
        let mut block = vec![0u8; self.ops.len().max(1) * stride as usize];
        for (i, op) in self.ops.iter().enumerate() {
            let at = i * stride as usize;
            block[at..at + 80].copy_from_slice(&op.params.bytes());
        }
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dispatch parameters"),
            size: block.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.ctx.queue.write_buffer(&uniforms, 0, &block);

        let bind_groups = self
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let mut entries = Vec::with_capacity(7);
                for (slot, b) in op.reads.iter().enumerate() {
                    let buffer = match b {
                        Some(b) => &buffers[b.0],
                        None => &dummies_r[slot],
                    };
                    entries.push(wgpu::BindGroupEntry {
                        binding: slot as u32,
                        resource: buffer.as_entire_binding(),
                    });
                }
                for (slot, b) in op.writes.iter().enumerate() {
                    let buffer = match b {
                        Some(b) => &buffers[b.0],
                        None => &dummies_w[slot],
                    };
                    entries.push(wgpu::BindGroupEntry {
                        binding: 4 + slot as u32,
                        resource: buffer.as_entire_binding(),
                    });
                }
                entries.push(wgpu::BindGroupEntry {
                    binding: 6,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &uniforms,
                        offset: i as u64 * stride,
                        size: wgpu::BufferSize::new(80),
                    }),
                });
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &layout,
                    entries: &entries,
                })
            })
            .collect();
        let ops = self
            .ops
            .iter()
            .map(|op| {
                (
                    Kernel::ALL
                        .iter()
                        .position(|k| *k == op.kernel)
                        .unwrap_or(0),
                    op.groups,
                )
            })
            .collect();
        Ok(Program {
            ctx: self.ctx,
            buffers,
            pipelines,
            bind_groups,
            ops,
            _uniforms: uniforms,
        })
    }
}

/// A finished program: its buffers and the dispatches to replay.
pub struct Program {
    ctx: GpuContext,
    buffers: Vec<wgpu::Buffer>,
    pipelines: Vec<wgpu::ComputePipeline>,
    bind_groups: Vec<wgpu::BindGroup>,
    ops: Vec<(usize, [u32; 3])>,
    _uniforms: wgpu::Buffer,
}

impl Program {
    /// The wgpu buffer behind `b`.
    pub fn buffer(&self, b: Buf) -> &wgpu::Buffer {
        &self.buffers[b.0]
    }

    /// Writes f32 values into `b` at element `offset` (queued before the next submission).
    pub fn write(&self, b: Buf, offset: usize, values: &[f32]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.ctx
            .queue
            .write_buffer(&self.buffers[b.0], (offset * 4) as u64, &bytes);
    }

    /// Records every dispatch into one compute pass of `encoder`.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("meta-iteration"),
            timestamp_writes: None,
        });
        for ((pipeline, groups), bind_group) in self.ops.iter().zip(&self.bind_groups) {
            pass.set_pipeline(&self.pipelines[*pipeline]);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
    }

    /// Number of dispatches per replay.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True for a program without dispatches.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
