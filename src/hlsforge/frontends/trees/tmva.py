"""TMVA BDT / BDTG XML weight files (``TMVA::MethodBDT``), read with ``xml.etree`` — no ROOT.

Why these choices (from TMVA's weight-file format and ``DecisionTreeNode::GoesRight``):
- a node with ``cType="1"`` sends ``x > Cut`` to its ``pos="r"`` child, so ``x <= Cut`` goes to
  ``pos="l"``; ``cType="0"`` is the mirror image (``x <= Cut`` goes to ``pos="r"``). Cuts and
  inputs are ``Float_t`` in TMVA, so thresholds are rounded to float32;
- a NaN compares false with ``>``, which is the ``x <= Cut`` side;
- ``BoostType=Grad`` (BDTG): the margin is the sum of the leaves' ``res``; the classifier's
  MVA value is ``2/(1+exp(-2F)) - 1 = tanh(F)`` (``post_transform='tanh'``); multiclass files
  (``AnalysisType`` 2) add tree ``i`` to class ``i % NClass`` with a softmax;
- other boost types (AdaBoost, ...): each tree's leaf is ``boostWeight · nType`` (or
  ``boostWeight · purity`` with ``UseYesNoLeaf=False``) and the sum is divided by the sum of the
  boost weights, as TMVA's ``GetMvaValue`` does.
Variable transformations stored in the file are not supported (an ``UnsupportedOpError``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops_trees import CMP_LE
from .builder import ForestBuilder, check_output


def _options(root: ET.Element) -> dict[str, str]:
    opts = root.find("Options")
    return {o.get("name", ""): (o.text or "").strip() for o in (opts if opts is not None else [])}


def _flag(text: str | None, default: bool) -> bool:
    if text is None or text == "":
        return default
    return text.strip().lower() in ("1", "true", "t", "yes", "kTRUE".lower())


def _tree(tree: ET.Element, leaf_value: Any, where: str) -> dict[str, list[Any]]:
    root = tree.find("Node")
    if root is None:
        raise ModelFormatError(f"{where}: a BinaryTree without a Node")
    cols: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "left", "right", "value")}
    stack: list[tuple[ET.Element, int, str]] = [(root, -1, "")]
    while stack:
        node, parent, side = stack.pop()
        i = len(cols["feature"])
        if parent >= 0:
            cols[side][parent] = i
        kids = {c.get("pos"): c for c in node.findall("Node")}
        try:
            ivar = int(node.get("IVar", "-1"))
            cut = float(node.get("Cut", "0"))
            ctype = int(node.get("cType", "1"))
        except ValueError as e:
            raise ModelFormatError(f"{where}: unreadable node attribute ({e})") from None
        cols["left"].append(-1)
        cols["right"].append(-1)
        if kids:
            if set(kids) != {"l", "r"} or ivar < 0:
                raise ModelFormatError(f"{where}: an inner node needs IVar >= 0 and children pos='l' and pos='r'")
            cols["feature"].append(ivar)
            cols["threshold"].append(float(np.float32(cut)))
            cols["value"].append(0.0)
            le, gt = (kids["l"], kids["r"]) if ctype == 1 else (kids["r"], kids["l"])
            stack.append((gt, i, "right"))
            stack.append((le, i, "left"))
        else:
            cols["feature"].append(-1)
            cols["threshold"].append(0.0)
            cols["value"].append(leaf_value(node))
    return cols


def from_xml(root: ET.Element, *, output: str = "margin", where: str = "TMVA weight file") -> Graph:
    check_output(output, where)
    method = root.get("Method", "")
    if root.tag != "MethodSetup" or not method.startswith("BDT"):
        raise ModelFormatError(f"{where}: not a TMVA BDT weight file (root <{root.tag} Method={method!r}>)")
    opts = _options(root)
    boost = opts.get("BoostType", "AdaBoost")
    yes_no = _flag(opts.get("UseYesNoLeaf"), True)
    variables = root.find("Variables")
    weights = root.find("Weights")
    if variables is None or weights is None:
        raise ModelFormatError(f"{where}: missing <Variables> or <Weights>")
    trans = root.find("Transformations")
    if trans is not None and int(trans.get("NTransformations", "0")) > 0:
        raise UnsupportedOpError(f"{where}: input variable transformations (VarTransform) are not supported")
    n_features = int(variables.get("NVar", len(variables.findall("Variable"))))
    analysis = int(weights.get("AnalysisType", "0"))
    classes = root.find("Classes")
    n_class = int(classes.get("NClass", "2")) if classes is not None else 2
    multiclass = analysis == 2 and n_class > 2
    n_out = n_class if multiclass else 1
    b = ForestBuilder(n_features, n_out, "tmva", where)
    total = 0.0
    for ti, tree in enumerate(weights.findall("BinaryTree")):
        w = float(tree.get("boostWeight", "1"))
        total += w
        def leaf(node: ET.Element, w: float = w) -> float:
            if boost == "Grad":
                return float(node.get("res", "0"))
            return w * (float(node.get("nType", "0")) if yes_no else float(node.get("purity", "0")))

        cols = _tree(tree, leaf, f"{where}: tree {ti}")
        b.add_tree(compare=CMP_LE, default_left=True, output=ti % n_out, **cols)
    scale = 1.0
    post = "none"
    if boost == "Grad":
        if output == "proba":
            post = "softmax" if multiclass else ("none" if analysis == 1 else "tanh")
    elif total > 0:
        scale = 1.0 / total
    return b.graph("tmva_bdt", scale=scale, post_transform=post, source_op=f"BDT/{boost}",
                   metadata={"tmva_boost_type": boost})


def load_tmva(path: Any, *, output: str = "margin") -> Graph:
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (OSError, ET.ParseError) as e:
        raise ModelFormatError(f"cannot read TMVA weight file {str(p)!r}: {e}") from None
    return from_xml(root, output=output, where=f"TMVA weight file {p.name!r}")


def is_tmva_xml(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(2048)
    except OSError:
        return False
    return b"<MethodSetup" in head
