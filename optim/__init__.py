"""chainrule's optimizers (``import optim``): PyTorch's torch.optim data model and update rules.

Every optimizer's update maths is a plain function whose docstring writes the algorithm out
(``optim.sgd.sgd``, ``optim.adam.adam``, ...); the classes keep ``defaults``, ``param_groups`` and
per-parameter ``state``. Every group accepts ``project`` (see :mod:`optim.projections`), and every
optimizer's ``project=`` keyword is the default of the groups that do not give their own.

A step over large parameters (over 2 MiB in all) is computed in cache-sized chunks on a few threads
(as many as the CPUs this process may use, at most 8), with the same result to the bit; set the
environment variable ``CHAINRULE_OPTIM_THREADS`` to a number of threads (1: no threads) to override,
e.g. on a machine whose cores other processes keep busy (threads then wait for them). SGD's
update, parts of RMSprop's and every optimizer's L2 weight decay run on BLAS (axpy, axpby from
numpy's own OpenBLAS, see optim/_blas.py), which makes SGD compute torch.optim.SGD's numbers;
``CHAINRULE_OPTIM_BLAS=0`` turns that off.
"""

from . import lr_scheduler, projections
from .adam import Adam, Adamax, AdamW, NAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .lbfgs import LBFGS
from .optimizer import Optimizer, required
from .sgd import SGD

__all__ = [
    "Optimizer",
    "required",
    "SGD",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "LBFGS",
    "lr_scheduler",
    "projections",
]
