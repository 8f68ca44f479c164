# %% [markdown]
# # 07 · Convolution: what a kernel does, its gradient, receptive fields
#
# A fully connected layer gives every output its own weight for every input pixel. A *convolutional*
# layer slides one small kernel over the image instead: the same few weights are used at every
# position (weight sharing), and each output sees only a small window (locality). This notebook
# shows what a kernel does to an image, derives the gradient of a convolution (which turns out to be
# a convolution too, the fact the engine's backward pass is built on) and measures how far a deep
# network's neurons see: their receptive fields.

# %%
import matplotlib.cbook as cbook
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
import nn
import nn.functional as F
import optim
from nn.data.datasets import load_digits
from threadpoolctl import threadpool_limits

threadpool_limits(1)  # small images: one BLAS thread is faster than several sharing the cores

# Grace Hopper (matplotlib's sample photograph), in grey, averaged down 4x4 to 150 x 128 pixels
photo = plt.imread(cbook.get_sample_data("grace_hopper.jpg")).astype(np.float32) / 255
grey = photo @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
image = F.avg_pool2d(ag.tensor(grey)[None, None], 4)  # (N=1, C=1, H, W): the layout conv2d takes
print("image:", image.shape)


def show(images, titles, cmap="gray", size=2.6, **style):
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size * 1.15))
    for ax, img, title in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(np.asarray(img).squeeze(), cmap=cmap, **style)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    plt.show()

# %% [markdown]
# ## One output pixel, by hand
#
# Deep learning's "convolution" is a cross-correlation: output pixel $(i, j)$ is the kernel laid on
# the window of the input whose corner is $(i, j)$, multiplied elementwise and summed,
#
# $$y_{ij} = b + \sum_{a=0}^{k-1} \sum_{c=0}^{k-1} x_{i+a,\,j+c}\; w_{ac}.$$
#
# With several input channels the sum also runs over them, and each output channel has a kernel of
# its own: `w` has shape (out_channels, in_channels, k, k). `F.conv2d` computes every output pixel at
# once; the first one by hand agrees:

# %%
rng = np.random.default_rng(0)
w = ag.tensor(rng.standard_normal((1, 1, 3, 3)).astype(np.float32))
y = F.conv2d(image, w)
by_hand = (image.numpy()[0, 0, :3, :3] * w.numpy()[0, 0]).sum()
print(f"F.conv2d: {y[0, 0, 0, 0].item():.6f}   by hand: {by_hand:.6f}   output shape {y.shape}")

# %% [markdown]
# ## What a kernel does to an image
#
# A kernel is a local pattern detector: the output is large where the window looks like the kernel.
# Hand-made kernels from image processing show the range: averaging blurs, a centre minus its
# neighbours sharpens, and a difference across a direction (Sobel) responds to edges across it. The
# gradient magnitude $\sqrt{s_x^2 + s_y^2}$ of the two Sobel responses finds edges in every direction.

# %%
gauss = np.exp(-((np.arange(5) - 2) ** 2) / 2.0)
KERNELS = {
    "identity": np.pad([[1.0]], 1),
    "box blur 5x5": np.full((5, 5), 1 / 25),
    "gaussian 5x5": np.outer(gauss, gauss) / np.outer(gauss, gauss).sum(),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
}


def apply_kernel(kernel, stride=1, dilation=1):
    k = ag.tensor(np.asarray(kernel, dtype=np.float32)[None, None])
    return F.conv2d(image, k, stride=stride, padding="same" if stride == 1 else 0, dilation=dilation)


outputs = {name: apply_kernel(k) for name, k in KERNELS.items()}
show([outputs[n] for n in KERNELS], list(KERNELS), size=2.2)
edges = (outputs["sobel x"] ** 2 + outputs["sobel y"] ** 2).sqrt()
show([image, outputs["sobel x"], outputs["sobel y"], edges],
     ["input", "sobel x: vertical edges", "sobel y: horizontal edges", "edge magnitude"], size=3)

# %% [markdown]
# The same kernels on one of the 8x8 handwritten digits that the CNN at the end of this notebook
# learns from. At this size a 3x3 kernel covers a good part of a stroke: blurring smears the digit,
# the Sobel kernels light up the left and right (top and bottom) sides of each stroke with opposite
# signs, and the Laplacian marks where the intensity bends. A CNN's first layer learns detectors of
# this kind by itself.

# %%
X_digits, digit_labels = load_digits()
X_digits = (X_digits / 16.0).reshape(-1, 1, 8, 8)  # (N, C=1, H=8, W=8), pixels in [0, 1]
digit = X_digits[0:1]
on_digit = ["box blur 5x5", "gaussian 5x5", "sobel x", "sobel y", "laplacian"]
digit_outputs = [F.conv2d(digit, ag.tensor(np.asarray(KERNELS[n], dtype=np.float32)[None, None]), padding="same")
                 for n in on_digit]
show([digit] + digit_outputs, [f"a digit ({digit_labels[0].item()})"] + on_digit, size=2.1)

# %% [markdown]
# ## Padding, stride and dilation
#
# Along each dimension an input of size $n$, padded by $p$ on both sides, with a kernel of size $k$
# whose taps are $d$ apart (dilation) and windows $s$ apart (stride), gives
# $\lfloor (n + 2p - d(k - 1) - 1) / s \rfloor + 1$ outputs. `padding='same'` pads
# $d(k-1)$ in all so that the size stays; stride 2 halves it (a learned down-sampling); dilation
# spreads the kernel's taps apart, seeing a wider window with the same nine weights.

# %%
sobel = KERNELS["sobel x"]
for stride, dilation in ((1, 1), (2, 1), (1, 4)):
    out = apply_kernel(sobel, stride, dilation)
    print(f"stride {stride}, dilation {dilation}: {tuple(image.shape[2:])} -> {tuple(out.shape[2:])}")
show([apply_kernel(sobel, s, d) for s, d in ((1, 1), (2, 1), (1, 4))],
     ["sobel x", "stride 2", "dilation 4 (a 9x9 reach)"], size=3)

# %% [markdown]
# **Your kernel.** Pick a kernel, a stride and a dilation: the picture is the convolution of the
# photograph with it. Below is the default (Laplacian, stride 1), drawn so that the notebook reads
# without a kernel; the controls need a running kernel.

# %%
import ipywidgets as widgets


def show_kernel(kernel="laplacian", stride=1, dilation=1):
    out = apply_kernel(KERNELS[kernel], stride, dilation)
    show([np.asarray(KERNELS[kernel], dtype=float), out],
         [f"kernel: {kernel}", f"output {tuple(out.shape[2:])}, stride {stride}, dilation {dilation}"],
         size=3.2)


show_kernel()

# %%
widgets.interact(show_kernel, kernel=widgets.Dropdown(options=list(KERNELS), value="laplacian", description="kernel"),
                 stride=widgets.IntSlider(value=1, min=1, max=4, description="stride"),
                 dilation=widgets.IntSlider(value=1, min=1, max=6, description="dilation"));

# %% [markdown]
# ## The gradient of a convolution is a convolution
#
# Write the loss's gradient with respect to the output as $g_{ij} = \partial L / \partial y_{ij}$.
# Input pixel $x_{mn}$ enters output $y_{ij}$ with weight $w_{m-i,\,n-j}$ (when that index is inside
# the kernel), so the multi-path chain rule sums over every output it touches:
#
# $$\frac{\partial L}{\partial x_{mn}} = \sum_{a, c} g_{m-a,\,n-c}\; w_{ac},
# \qquad
# \frac{\partial L}{\partial w_{ac}} = \sum_{i, j} g_{ij}\; x_{i+a,\,j+c}.$$
#
# The first is the gradient image $g$, zero-padded by $k - 1$, correlated with the kernel flipped in
# both directions: a "full" convolution, which is what `conv_transpose2d` computes (with the channel
# axes of $w$ swapped). The second is the input correlated with $g$ as if $g$ were the kernel. So the
# backward pass of a convolution is two convolutions, and the engine writes it exactly so: its rule
# for the input is `conv_transpose`, whose own rule is `conv` again, which is why second derivatives
# (a gradient penalty through a `Conv2d`) work. Check both against `ag.grad`:

# %%
x = ag.tensor(rng.standard_normal((2, 3, 9, 9)), requires_grad=True)
w = ag.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
y = F.conv2d(x, w)
g = ag.tensor(rng.standard_normal(y.shape))
dx, dw = ag.grad(y, (x, w), grad_outputs=g)

flipped = w[:, :, ::-1, ::-1].transpose(0, 1)  # kernels flipped, in and out channels swapped
dx_full = F.conv2d(F.pad(g, (2, 2, 2, 2)), flipped)  # the "full" correlation
dx_transposed = F.conv_transpose2d(g, w)
dw_corr = F.conv2d(x.transpose(0, 1), g.transpose(0, 1)).transpose(0, 1)  # batch as channels
print("dL/dx: full correlation with the flipped kernel  ", np.abs(dx_full.data - dx.data).max())
print("dL/dx: conv_transpose2d(g, w)                    ", np.abs(dx_transposed.data - dx.data).max())
print("dL/dw: the input correlated with g               ", np.abs(dw_corr.data - dw.data).max())
assert np.allclose(dx_full.data, dx.data) and np.allclose(dx_transposed.data, dx.data)
assert np.allclose(dw_corr.data, dw.data)

# %% [markdown]
# One output pixel's gradient makes the first formula visible: with $g$ one-hot at $(i, j)$, the
# gradient with respect to the input is the kernel itself, placed on the window that pixel saw.

# %%
single = ag.tensor(image.numpy(), requires_grad=True)
out = F.conv2d(single, ag.tensor(KERNELS["sobel y"].astype(np.float32)[None, None]))
(grad,) = ag.grad(out[0, 0, 60, 50], single)
window = grad.numpy()[0, 0, 58:67, 48:57]
show([grad.numpy()[0, 0], window], ["d y[60, 50] / d x", "zoomed: the sobel y kernel at (60, 50)"], cmap="RdBu_r",
     size=3.2, vmin=-2, vmax=2)

# %% [markdown]
# ## Receptive fields
#
# A neuron's receptive field is the part of the input it depends on: where the gradient of that
# neuron with respect to the input is not zero. One 3x3 layer sees 3x3 pixels; every further 3x3
# layer adds $k - 1 = 2$, multiplied by the product of the strides below it, so a stride-2
# convolution or a 2x2 pooling doubles what each later layer adds, and dilation $d$ adds $d (k - 1)$. Measured with `ag.grad`
# (ones for weights, so that nothing cancels, and average pooling, whose gradient reaches every
# pixel of its window; the picture shows $\log(1 + |\partial y / \partial x|)$):

# %%
def receptive_field(layers, size=33):
    """The gradient of the centre output neuron with respect to a size x size input."""
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    x = ag.ones(1, 1, size, size, requires_grad=True)
    y = net(x)
    c = y.shape[-1] // 2
    (g,) = ag.grad(y[0, 0, c, c], x)
    seen = np.argwhere(g.numpy()[0, 0] != 0)
    extent = seen.max(axis=0) - seen.min(axis=0) + 1
    return g.numpy()[0, 0], tuple(int(e) for e in extent)


def conv(dilation=1, stride=1):
    return nn.Conv2d(1, 1, 3, padding=dilation, dilation=dilation, stride=stride)


STACKS = {
    "one 3x3": [conv()],
    "two 3x3": [conv(), conv()],
    "four 3x3": [conv() for _ in range(4)],
    "3x3 stride 2, 3x3, 3x3": [conv(stride=2), conv(), conv()],
    "3x3, pool 2, 3x3, 3x3": [conv(), nn.AvgPool2d(2), conv(), conv()],
    "dilations 1, 2, 4": [conv(1), conv(2), conv(4)],
}
fields = {name: receptive_field(layers) for name, layers in STACKS.items()}
for name, (_, extent) in fields.items():
    print(f"{name:>24}: receptive field {extent[0]} x {extent[1]}")
show([np.log1p(np.abs(g)) for g, _ in fields.values()], list(fields), cmap="magma", size=2.3)
assert [e[0] for _, e in fields.values()] == [3, 5, 9, 11, 12, 15]

# %% [markdown]
# The receptive fields grow linearly with plain 3x3 layers (3, 5, 9), faster after a stride 2 (it
# doubles the step of every later layer: 11 with three convolutions, the first strided; 12 with a
# pooling between the first and second), and exponentially with dilations 1, 2, 4 (15 with three
# layers and nine weights each). The pictures count paths: with all weights 1,
# $\partial y/\partial x$ at a pixel is the number of paths from it to the output neuron (times 1/4
# for the average pooling, which takes the mean of four pixels). Plain stacks give a smooth hill; a
# stride 2 with a 3x3 kernel (windows overlapping by one pixel) and stacked dilations give a
# checkered field, neighbouring pixels reached along different numbers of paths (1 to 3 along each
# axis for the dilations, every pixel at least once), the same unevenness that makes strided
# transposed convolutions draw checkerboards. The field is also not uniform: the centre is reached
# along many more paths than the border (the multi-path chain rule again), so a deep network's
# *effective* receptive field is much smaller than its nominal one, roughly Gaussian.
#
# ## A small CNN learns its own kernels
#
# Nobody chooses the kernels of a CNN: they are weights like any other, learned by backpropagation.
# Two convolutional layers (with batch norm, ReLU and 2x2 max pooling) and a linear classifier on the
# 8x8 digits reach about 99% test accuracy with 6,000 weights in a few epochs; the first layer's
# sixteen 3x3 kernels are its own edge and blob detectors. The held-out quarter is the one `make demo`
# tests its networks on (a bigger CNN there, with dropout, for 20 epochs).

# %%
X, labels = X_digits, digit_labels
order = np.random.default_rng(0).permutation(len(labels))
n_test = int(len(labels) * 0.25)
test, train = order[:n_test], order[n_test:]
ag.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
opt = optim.Adam(cnn.parameters(), lr=3e-3)
for epoch in range(10):
    cnn.train()
    perm = np.random.default_rng(epoch).permutation(train)
    for i in range(0, len(perm) - 63, 64):
        batch = perm[i:i + 64]
        loss = F.cross_entropy(cnn(X[batch]), labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
cnn.eval()
with ag.no_grad():
    accuracy = (cnn(X[test]).argmax(1) == labels[test]).float().mean().item()
n_weights = sum(p.numel() for p in cnn.parameters())
print(f"test accuracy {accuracy:.3f} with {n_weights:,} weights")
kernels = cnn[0].weight.detach().numpy()[:, 0]
limit = np.abs(kernels).max()
fig, axes = plt.subplots(2, 8, figsize=(9, 2.5))
for ax, kernel in zip(axes.ravel(), kernels):
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.axis("off")
fig.suptitle("the first layer's learned 3x3 kernels (red +, blue -)", fontsize=10)
plt.show()
assert accuracy > 0.97
