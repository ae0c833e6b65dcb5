"""Tree-model frontends: scikit-learn, XGBoost, LightGBM, ONNX-ML, TMVA and conifer → one
``TreeEnsemble`` op (``ir/ops_trees.py``).

:func:`frontends` lists them for ``hlsforge.load``; nothing from an optional library is
imported until a model of that library is loaded. Every loader takes ``output='margin'``
(default: the raw margin / ``decision_function``, what the fixed-point backends compute) or
``output='proba'`` (the library's documented post-transform, e.g. ``predict_proba``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["frontends", "load_sklearn", "load_xgboost", "load_lightgbm", "load_onnx_ml", "load_tmva", "load_conifer"]


def load_sklearn(model: Any, **options: Any) -> Any:
    from .sklearn import load_sklearn as f

    return f(model, **options)


def load_xgboost(model: Any, **options: Any) -> Any:
    from .xgboost import load_xgboost as f

    return f(model, **options)


def load_lightgbm(model: Any, **options: Any) -> Any:
    from .lightgbm import load_lightgbm as f

    return f(model, **options)


def load_onnx_ml(model: Any, **options: Any) -> Any:
    from .onnx_ml import load_onnx_ml as f

    return f(model, **options)


def load_tmva(model: Any, **options: Any) -> Any:
    from .tmva import load_tmva as f

    return f(model, **options)


def load_conifer(model: Any, **options: Any) -> Any:
    from .conifer import load_conifer as f

    return f(model, **options)


def _sklearn_accepts(obj: Any) -> bool:
    if not type(obj).__module__.startswith("sklearn"):
        return False
    from .sklearn import accepts

    return accepts(obj)


def _onnx_accepts(obj: Any) -> bool:
    if not type(obj).__module__.startswith("onnx"):
        return False
    from .onnx_ml import accepts

    return accepts(obj)


def _sniff(module: str, func: str) -> Any:
    def check(path: Path) -> bool:
        import importlib

        return bool(getattr(importlib.import_module(f"{__name__}.{module}"), func)(path))

    return check


def frontends() -> tuple[list[Any], list[Any]]:
    """``(first, last)``: frontends to put before the network ones (ONNX-ML must win over the
    ONNX frontend for files with tree ensembles) and after them."""
    from ...loader import Frontend

    first = [Frontend("onnx-ml", (".onnx",), (), load_onnx_ml, _onnx_accepts, _sniff("onnx_ml", "is_onnx_trees"))]
    last = [
        Frontend("sklearn", (), (), load_sklearn, _sklearn_accepts),
        Frontend("xgboost", (".json", ".ubj"), ("xgboost",), load_xgboost, None,
                 lambda p: p.suffix.lower() == ".ubj" or _sniff("xgboost", "is_xgboost_json")(p)),
        Frontend("lightgbm", (".txt", ".lgb", ".model"), ("lightgbm",), load_lightgbm, None,
                 _sniff("lightgbm", "is_lightgbm_text")),
        Frontend("tmva", (".xml",), (), load_tmva, None, _sniff("tmva", "is_tmva_xml")),
        Frontend("conifer", (".json",), ("conifer",), load_conifer, None, _sniff("conifer", "is_conifer_json")),
    ]
    return first, last
