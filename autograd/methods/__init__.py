"""The named methods of Tensor, by family: each module holds one mixin class that Tensor inherits.

Each method checks and normalises its arguments (autograd/args.py) and applies an entry of the op
table (autograd/ops/) with the functions of autograd/tensor.py; the maths lives in the table.
"""

# autograd.tensor imports these modules after defining the functions they use, and then builds the
# class from them: whichever module is imported first, tensor.py must start that sequence.
from .. import tensor
