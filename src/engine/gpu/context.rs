//! The GPU device: found once (WebGPU in the browser, Vulkan natively), shared by every run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the adapter says about itself (shown in the status bar and in benchmarks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// Adapter name (e.g. `llvmpipe`, `SwiftShader Device`).
    pub name: String,
    /// Backend wgpu talks to (`Vulkan`, `BrowserWebGpu`, ...).
    pub backend: String,
    /// Device type (`Cpu` for software adapters such as lavapipe and SwiftShader).
    pub device_type: String,
}

impl GpuInfo {
    /// True for software adapters (they prove correctness, not speed).
    pub fn is_software(&self) -> bool {
        self.device_type == "Cpu"
    }

    /// One line for the status bar, e.g. `WebGPU (SwiftShader Device, software)`.
    /// Browsers do not always name their adapter (Chromium leaves the description empty).
    pub fn label(&self) -> String {
        let name = match (self.name.trim(), self.is_software()) {
            ("", true) => "the browser's fallback adapter",
            ("", false) => "the browser's adapter",
            (name, _) => name,
        };
        let kind = if self.is_software() { ", software" } else { "" };
        format!("WebGPU ({name}{kind})")
    }
}

/// A device and its queue, cheap to clone (wgpu handles are reference counted).
#[derive(Clone, Debug)]
pub struct GpuContext {
    /// The logical device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// What the adapter is.
    pub info: GpuInfo,
    /// Set (with the reason) when the device is lost or a GPU error was raised.
    lost: Arc<Mutex<Option<String>>>,
    /// Compute pipelines built once per device, by name ([`GpuContext::pipeline`]).
    pipelines: Arc<Mutex<HashMap<&'static str, wgpu::ComputePipeline>>>,
}

impl GpuContext {
    /// Requests an adapter and a device. Fails with a readable message when there is no
    /// adapter (no WebGPU in this browser, no Vulkan driver) or the device is refused.
    pub async fn new() -> Result<Self> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::BROWSER_WEBGPU;
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            })
            .await
            .map_err(|e| {
                Error::no_adapter(if cfg!(target_arch = "wasm32") {
                    // wgpu lists every native backend it was not built with: not for a banner
                    "the browser offers no WebGPU adapter".to_string()
                } else {
                    e.to_string()
                })
            })?;
        let info = adapter.get_info();
        let info = GpuInfo {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
        };
        // everything the adapter offers: large buffers for wide networks and big meta-batches
        let required_limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("metaplay"),
                required_features: wgpu::Features::empty(),
                required_limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::no_adapter(format!("the WebGPU device was refused: {e}")))?;
        let lost = Arc::new(Mutex::new(None));
        {
            // a validation or out-of-memory error marks the context failed (the run then falls
            // back to the CPU) instead of wgpu's default handler, which panics
            let lost = lost.clone();
            device.on_uncaptured_error(std::sync::Arc::new(move |e: wgpu::Error| {
                if let Ok(mut slot) = lost.lock() {
                    slot.get_or_insert_with(|| e.to_string());
                }
            }));
        }
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, message| {
                if let Ok(mut slot) = lost.lock() {
                    *slot = Some(format!("{reason:?}: {message}"));
                }
            });
        }
        Ok(Self {
            device,
            queue,
            info,
            lost,
            pipelines: Arc::default(),
        })
    }

    /// The device-lost reason, once it is lost.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|s| s.clone())
    }

    /// Fails when the device is lost.
    pub fn check(&self) -> Result<()> {
        match self.lost() {
            Some(reason) => Err(Error::device_lost(reason)),
            None => Ok(()),
        }
    }

    /// The pipeline called `name`, built by `build` the first time only (shader compilation
    /// costs more than a whole bandit evaluation on some adapters).
    pub fn pipeline(
        &self,
        name: &'static str,
        build: impl FnOnce(&wgpu::Device) -> wgpu::ComputePipeline,
    ) -> wgpu::ComputePipeline {
        let mut cache = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(name)
            .or_insert_with(|| build(&self.device))
            .clone()
    }

    /// Largest buffer this device accepts, in bytes.
    pub fn max_buffer_bytes(&self) -> u64 {
        let l = self.device.limits();
        l.max_buffer_size.min(l.max_storage_buffer_binding_size)
    }
}

#[cfg(test)]
mod tests {
    use super::GpuInfo;

    fn info(name: &str, device_type: &str) -> GpuInfo {
        GpuInfo {
            name: name.into(),
            backend: "BrowserWebGpu".into(),
            device_type: device_type.into(),
        }
    }

    #[test]
    fn labels_name_the_adapter_or_say_it_is_unnamed() {
        assert_eq!(
            info("llvmpipe (LLVM 15.0.6, 256 bits)", "Cpu").label(),
            "WebGPU (llvmpipe (LLVM 15.0.6, 256 bits), software)"
        );
        assert_eq!(
            info("", "Cpu").label(),
            "WebGPU (the browser's fallback adapter, software)"
        );
        assert_eq!(info(" ", "Other").label(), "WebGPU (the browser's adapter)");
    }
}
