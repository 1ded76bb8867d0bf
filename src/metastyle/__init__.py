"""metastyle: neural style transfer for any painting (MetaStyle, AAAI 2019), with Gatys and Johnson baselines."""

from .adapt import AdaptConfig
from .controls import mix_models
from .data import builtins, resolve_image
from .errors import MetastyleError
from .optimize import GatysConfig, gatys
from .images import load_image, save_image
from .inference import InferenceConfig, Stylizer
from .losses import LossConfig, PerceptualLoss, content_loss, gram, style_loss, tv_loss
from .meta import MetaConfig, meta_train
from .metrics import score
from .models import load_model, save_model
from .pipeline import adapt, stylize
from .transformer import TransformerNet
from .version import __version__
from .vgg import VGG19
from .video import stylize_video

__all__ = [
    "__version__", "AdaptConfig", "GatysConfig", "InferenceConfig", "LossConfig", "MetaConfig", "MetastyleError", "PerceptualLoss", "TransformerNet",
    "VGG19", "adapt", "builtins", "content_loss", "gatys", "gram", "load_image", "load_model", "meta_train",
    "mix_models", "resolve_image", "save_image", "save_model", "score", "Stylizer", "style_loss", "stylize", "stylize_video",
    "tv_loss",
]
