"""Reference values for the loss tests in crates/trainer/src/loss/.

Every loss is written out from its definition (docs/DEFINITIONS.md#losses) in PyTorch, in
float64, on the fixed table of the tests (`LOGITS`, `LABELS` in crates/trainer/src/loss/testing.rs:
three rows, five classes), independently of the Rust code. Where PyTorch has the loss built in
(cross-entropy with label smoothing in [0, 1]) the script asserts that the written-out form agrees
with it. Run it with any Python that has torch:

    python crates/trainer/tests/reference/losses.py

and compare its lines with the constants the tests quote.
"""

import math

import torch
import torch.nn.functional as F

# The f32 logits of the Rust table, widened exactly to float64.
LOGITS = torch.tensor(
    [
        [2.0, -1.0, 0.5, 0.0, 1.0],
        [0.3, 1.5, -0.7, 2.2, -2.0],
        [-1.2, 0.4, 0.9, -0.3, 3.1],
    ],
    dtype=torch.float32,
).double()
LABELS = torch.tensor([0, 1, 2])
K = LOGITS.shape[1]
ONE_HOT = F.one_hot(LABELS, K).double()

# A row-stochastic T[clean][noisy] with zeros: 0.7 stays, 0.2 to the next class, 0.1 three on.
TRANSITION = torch.zeros(K, K, dtype=torch.float64)
for i in range(K):
    TRANSITION[i, i] += 0.7
    TRANSITION[i, (i + 1) % K] += 0.2
    TRANSITION[i, (i + 3) % K] += 0.1


def soft_target_cross_entropy(z, t):
    return -(t * F.log_softmax(z, dim=1)).sum(1).mean()


def ce_uniform(z, epsilon):
    return soft_target_cross_entropy(z, (1 - epsilon) * ONE_HOT + epsilon / K)


def ce_off_classes(z, epsilon):
    return soft_target_cross_entropy(z, (1 - epsilon) * ONE_HOT + epsilon / (K - 1) * (1 - ONE_HOT))


def bootstrap_soft(z, beta):
    # The prediction in the target is not detached: gradients flow through it.
    p = F.softmax(z, dim=1)
    return soft_target_cross_entropy(z, beta * ONE_HOT + (1 - beta) * p)


def bootstrap_hard(z, beta):
    predicted = F.one_hot(z.argmax(1), K).double()  # the first maximum wins a tie
    return soft_target_cross_entropy(z, beta * ONE_HOT + (1 - beta) * predicted)


def gce(z, q):
    p_y = F.softmax(z, dim=1).gather(1, LABELS[:, None]).squeeze(1)
    return ((1 - p_y**q) / q).mean()


def sce(z, alpha, beta, log_zero):
    # As the authors' code: RCE is the cross-entropy of the prediction against the one-hot label
    # clamped below at exp(A), so that log 0 becomes A.
    ce = F.cross_entropy(z, LABELS)
    p = F.softmax(z, dim=1)
    rce = -(p * torch.log(ONE_HOT.clamp(min=math.exp(log_zero)))).sum(1).mean()
    return alpha * ce + beta * rce


def focal(z, gamma):
    log_p_y = F.log_softmax(z, dim=1).gather(1, LABELS[:, None]).squeeze(1)
    return (-((1 - log_p_y.exp()) ** gamma) * log_p_y).mean()


def forward(z, transition):
    noisy = F.softmax(z, dim=1) @ transition
    return -torch.log(noisy.gather(1, LABELS[:, None]).squeeze(1)).mean()


for epsilon in [0.0, 0.1, 0.6, 1.0]:
    built_in = F.cross_entropy(LOGITS, LABELS, label_smoothing=epsilon)
    assert abs(built_in - ce_uniform(LOGITS, epsilon)) < 1e-12

cases = [
    ("ce epsilon=0", ce_uniform(LOGITS, 0.0)),
    ("ce epsilon=0.1", ce_uniform(LOGITS, 0.1)),
    ("ce epsilon=-0.8", ce_uniform(LOGITS, -0.8)),
    ("ce epsilon=-8", ce_uniform(LOGITS, -8.0)),
    ("ce-off-classes epsilon=0.1", ce_off_classes(LOGITS, 0.1)),
    ("ce-off-classes epsilon=-0.5", ce_off_classes(LOGITS, -0.5)),
    ("bootstrap-soft beta=0.95", bootstrap_soft(LOGITS, 0.95)),
    ("bootstrap-soft beta=0.5", bootstrap_soft(LOGITS, 0.5)),
    ("bootstrap-hard beta=0.8", bootstrap_hard(LOGITS, 0.8)),
    ("bootstrap-hard beta=0.3", bootstrap_hard(LOGITS, 0.3)),
    ("gce q=0.7", gce(LOGITS, 0.7)),
    ("gce q=1", gce(LOGITS, 1.0)),
    ("gce q=0.1", gce(LOGITS, 0.1)),
    ("sce alpha=0.1 beta=1 A=-4", sce(LOGITS, 0.1, 1.0, -4.0)),
    ("sce alpha=6 beta=0.1 A=ln(1e-4)", sce(LOGITS, 6.0, 0.1, math.log(1e-4))),
    ("focal gamma=2", focal(LOGITS, 2.0)),
    ("focal gamma=0", focal(LOGITS, 0.0)),
    ("focal gamma=0.5", focal(LOGITS, 0.5)),
    ("forward T=0.7/0.2/0.1", forward(LOGITS, TRANSITION)),
    ("forward T=I", forward(LOGITS, torch.eye(K, dtype=torch.float64))),
]
for name, value in cases:
    print(f"{name}: {value.item()!r}")
