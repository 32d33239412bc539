//! Which build of the training worker this browser starts: `worker_relaxed` (its matrix
//! kernels fuse with `f32x4.relaxed_madd`, ~7% faster per meta-iteration, BENCHMARKS.md) where
//! the browser validates relaxed SIMD and the link does not say `simd=strict`; `worker`
//! otherwise. A module with relaxed SIMD does not validate at all in a browser without it, so
//! the choice is between two files, made before either is fetched (issue 16).

/// A module whose one function `() -> v128` splats `1.0` three times and fuses the three with
/// `f32x4.relaxed_madd` (`0xfd 0x105`): it validates exactly where relaxed SIMD is supported.
/// `www/sw.js` holds the same bytes (it precaches only the worker this browser starts).
pub const RELAXED_SIMD_PROBE: [u8; 49] = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
    0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
    0x0a, 0x1c, 0x01, 0x1a, 0x00, // code: one body of 26 bytes, no locals
    0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd, 0x13, // f32.const 1.0, f32x4.splat
    0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd, 0x13, // f32.const 1.0, f32x4.splat
    0x43, 0x00, 0x00, 0x80, 0x3f, 0xfd, 0x13, // f32.const 1.0, f32x4.splat
    0xfd, 0x85, 0x02, // f32x4.relaxed_madd
    0x0b, // end
];

/// True when this browser validates relaxed SIMD.
pub fn relaxed_simd_supported() -> bool {
    let bytes = js_sys::Uint8Array::from(&RELAXED_SIMD_PROBE[..]);
    js_sys::WebAssembly::validate(&bytes).unwrap_or(false)
}

/// The worker build to start: relaxed SIMD unless `strict` (`simd=strict`) or unsupported.
pub fn use_relaxed_simd(strict: bool) -> bool {
    !strict && relaxed_simd_supported()
}

/// The loader script Trunk writes for the chosen build.
pub fn loader_script(relaxed: bool) -> &'static str {
    if relaxed {
        "./worker_relaxed_loader.js"
    } else {
        "./worker_loader.js"
    }
}
