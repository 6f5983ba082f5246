//! Memory must not grow with the length of training: nothing kept from one step to the next
//! (parameters, optimiser state, running metrics) may hold on to that step's autograd graph.
//!
//! A counting allocator records the peak of live heap bytes while `train` runs. A run four times
//! as long must peak within a small margin of the short one; state that keeps each step's graph
//! alive grows with every step and fails by far. This binary holds a single test, so no other test
//! allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use data::{BlobsParams, Dataset, blobs};
use trainer::{
    Device, Loss, ModelKind, OptimizerParams, RunStatus, Schedule, TrainData, TrainParams,
    TrainSeeds, train,
};

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are only
// bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak live heap bytes above the level before the call, while `f` runs.
fn peak_during(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

/// Four classes of 16 features (usable as 1×4×4 images): 240 training samples, 15 steps an epoch
/// at batch 16.
fn splits() -> (Dataset, Dataset, Dataset) {
    let all = blobs(&BlobsParams {
        n_classes: 4,
        n_features: 16,
        n_samples: 400,
        separation: 2.0,
        seed: 5,
    })
    .unwrap();
    let pick = |keep: fn(usize) -> bool| {
        let rows: Vec<usize> = (0..400).filter(|&i| keep(i)).collect();
        let mut subset = all.subset(&rows);
        subset.image_shape = Some([1, 4, 4]);
        subset
    };
    (
        pick(|i| i % 5 < 3),
        pick(|i| i % 5 == 3),
        pick(|i| i % 5 == 4),
    )
}

#[test]
fn peak_memory_does_not_grow_with_the_number_of_steps() {
    let (train_set, validation, test) = splits();
    let data = TrainData {
        train: &train_set,
        train_noisy: &train_set.labels,
        validation: &validation,
        validation_noisy: &validation.labels,
        test: &test,
    };
    let sgd = |nesterov| OptimizerParams::Sgd {
        learning_rate: 0.01,
        momentum: 0.9,
        nesterov,
        weight_decay: 5e-4,
    };
    let adamw = OptimizerParams::AdamW {
        learning_rate: 0.001,
        beta1: 0.9,
        beta2: 0.999,
        weight_decay: 0.01,
    };
    let models = [
        ModelKind::Logistic,
        ModelKind::Mlp { hidden: vec![32] },
        ModelKind::Cnn { channels: [4, 8] },
    ];
    let mut failures = Vec::new();
    for model in &models {
        for optimizer in [sgd(false), sgd(true), adamw.clone()] {
            let peak = |epochs: usize| {
                let params = TrainParams {
                    model: model.clone(),
                    optimizer: optimizer.clone(),
                    schedule: Schedule::Cosine,
                    epochs,
                    batch_size: 16,
                    loss: Loss::label_smoothing(0.1),
                    warmup_epochs: 0,
                    device: Device::Cpu,
                    project_classes: None,
                };
                peak_during(|| {
                    let outcome = train(&data, &params, TrainSeeds { init: 1, order: 2 }).unwrap();
                    assert_eq!(outcome.status, RunStatus::Finished);
                    assert_eq!(outcome.epochs.len(), epochs);
                })
            };
            // Warm up once so one-off allocations (thread-local scratch, lazily built tables)
            // are not charged to the short run.
            peak(1);
            let (short, long) = (peak(4), peak(16));
            // 60 steps against 240; the long run also keeps 12 more epochs of metrics (a few
            // hundred bytes each), well inside the margin.
            if long as f64 > short as f64 * 1.15 + 4096.0 {
                failures.push(format!(
                    "{model:?} with {optimizer:?}: peak {short} B after 4 epochs, {long} B after 16"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "memory grows with training length:\n{}",
        failures.join("\n")
    );
}
