"""The PyTorch side of `mtlora bench --gelu-scale K`: runs ../shared/tools/torch_baseline.py with the weight and bias of
every MLP's first layer (mlp.fc1.linear) multiplied by K, so that the GELU inputs are K times larger than at the random
initialisation (docs/performance.md, "GELU inputs at a trained network's scale").

Usage, from the repository root: PYTHON docs/tools/torch_gelu_scale.py K [torch_baseline.py arguments ...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "tools"))
import torch  # noqa: E402
import torch_baseline  # noqa: E402

if len(sys.argv) < 2:
    sys.exit(__doc__)
try:
    SCALE = float(sys.argv.pop(1))
except ValueError:
    sys.exit("torch_gelu_scale.py: K must be a number, found '%s'" % sys.argv[1])
if not (0 < SCALE < float("inf")):
    sys.exit("torch_gelu_scale.py: K must be a finite number > 0, found %s" % SCALE)

_build = torch_baseline.build


def scaled_build(*args, **kwargs):
    model = _build(*args, **kwargs)
    scaled = 0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".mlp.fc1.linear." in name:
                p.mul_(SCALE)
                scaled += 1
    print("torch_gelu_scale.py: %d fc1 tensors scaled by %s" % (scaled, SCALE), file=sys.stderr)
    return model


torch_baseline.build = scaled_build
torch_baseline.main()
