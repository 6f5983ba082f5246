//! Where a run's tensors live: the one place the trainer chooses a device.

/// The device a run trains on. Only the CPU today; a GPU is a new variant here, its candle device
/// in [`Device::candle`], and its choice of models in `Network::new` (the hand-derived dense
/// layers work on host buffers, so on another device the MLP would train through candle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// The host CPU, with the GEMM kernels of the `gemm` crate.
    #[default]
    Cpu,
}

impl Device {
    /// The candle device for this device's tensors.
    pub fn candle(self) -> candle_core::Device {
        match self {
            Device::Cpu => candle_core::Device::Cpu,
        }
    }
}
