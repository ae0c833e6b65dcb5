"""File formats and the remaining frontends: XGBoost .json/.ubj, LightGBM text, ONNX-ML,
conifer JSON, TMVA XML (written here from a known tree, in TMVA's weight-file format), IR
save/load, and clear errors for what is not supported."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from tree_cases import lightgbm_model, probe_inputs, sklearn_model, xgboost_model

import hlsforge
from hlsforge import reference
from hlsforge.errors import ModelFormatError, UnsupportedOpError
from hlsforge.ir.serialize import load as load_ir
from hlsforge.ir.serialize import save as save_ir
from hlsforge.trees import apply, decision_function


def _x(g, n=20_000, nan=True, inf=False):
    a = g.nodes[0].attrs
    return probe_inputs(a.threshold, a.feature, n, nan=nan, inf=inf)


def test_xgboost_files(tmp_path):
    bst = xgboost_model("multi:softprob")
    live = hlsforge.load(bst)
    x = _x(live)
    for suffix in (".json", ".ubj"):
        p = tmp_path / f"m{suffix}"
        bst.save_model(p)
        g = hlsforge.load(p)
        np.testing.assert_array_equal(reference.run(g, x), reference.run(live, x))


def test_lightgbm_text_file(tmp_path):
    bst = lightgbm_model("multiclass")
    p = tmp_path / "model.txt"
    bst.save_model(p)
    g = hlsforge.load(p)
    x = _x(g)
    np.testing.assert_array_equal(reference.run(g, x), bst.predict(x.astype(np.float64), raw_score=True).astype(np.float32))


def test_ir_round_trip(tmp_path):
    g = hlsforge.load(lightgbm_model("binary"), output="proba")
    back = load_ir(save_ir(g, tmp_path / "g.json"))
    x = _x(g)
    np.testing.assert_array_equal(reference.run(back, x), reference.run(g, x))
    np.testing.assert_array_equal(apply(back, x), apply(g, x))
    assert back.nodes[0].attrs.post_transform == "logistic"


@pytest.mark.parametrize("kind,target", [("GradientBoosting", "binary"), ("GradientBoosting", "multiclass"),
                                         ("RandomForest", "multiclass"), ("GradientBoosting", "regression")])
def test_onnx_ml_against_onnxruntime(kind, target, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    model = sklearn_model(kind, target)
    x = _x(hlsforge.load(model), 5000, nan=False)
    onx = skl2onnx.to_onnx(model, x[:1], options={"zipmap": False} if target != "regression" else None,
                           target_opset={"": 17, "ai.onnx.ml": 3})
    p = tmp_path / "m.onnx"
    p.write_bytes(onx.SerializeToString())
    g = hlsforge.load(p, output="proba")
    s = ort.InferenceSession(onx.SerializeToString())
    want = s.run(None, {s.get_inputs()[0].name: x})[-1]
    got = reference.run(g, x)
    if got.shape[1] == 1 and want.ndim == 2 and want.shape[1] == 2:
        want = want[:, 1:]
    np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-6, atol=1e-6)
    # the margin equals sklearn's decision_function / prediction
    m = hlsforge.load(onx)
    ref = model.decision_function(x) if hasattr(model, "decision_function") else (
        model.predict_proba(x) if target != "regression" else model.predict(x))
    ref = np.asarray(ref)
    if ref.ndim == 2 and ref.shape[1] == 2 and m.values["y"].shape == (1,):
        ref = ref[:, 1:]
    np.testing.assert_allclose(reference.run(m, x), ref.reshape(-1, m.values["y"].shape[0]), atol=2e-6)


def test_conifer_json(tmp_path):
    conifer = pytest.importorskip("conifer")
    model = sklearn_model("GradientBoosting", "binary")
    cm = conifer.converters.convert_from_sklearn(model, {"backend": "cpp", "output_dir": str(tmp_path / "prj"),
                                                         "project_name": "p", "Precision": "ap_fixed<18,8>"})
    p = tmp_path / "conifer.json"
    cm.save(str(p))
    g = hlsforge.load(p)
    x = _x(g, 5000, nan=False)
    np.testing.assert_allclose(reference.run(g, x)[:, 0], model.decision_function(x), rtol=0, atol=1e-6)
    # conifer's own float model (numpy) gives the same leaves
    from conifer.model import ModelBase

    base = ModelBase(json.loads(p.read_text()))
    np.testing.assert_allclose(reference.run(g, x)[:, 0], ModelBase.decision_function(base, x), atol=1e-6)


def _tmva_xml(model, boost: str) -> ET.Element:
    """A TMVA weight file holding ``model``'s trees (GradientBoostingRegressor stages),
    written in TMVA's format: <MethodSetup> with <Options>, <Variables>, <Classes> and
    <Weights> of <BinaryTree boostWeight> with nested <Node pos IVar Cut cType res purity nType>."""
    root = ET.Element("MethodSetup", Method="BDT::BDTG")
    opts = ET.SubElement(root, "Options")
    for k, v in (("BoostType", boost), ("UseYesNoLeaf", "True"), ("NTrees", str(len(model.estimators_)))):
        ET.SubElement(opts, "Option", name=k, modified="Yes").text = v
    var = ET.SubElement(root, "Variables", NVar=str(model.n_features_in_))
    for i in range(model.n_features_in_):
        ET.SubElement(var, "Variable", VarIndex=str(i), Expression=f"x{i}", Type="F")
    ET.SubElement(root, "Classes", NClass="2")
    ET.SubElement(root, "Transformations", NTransformations="0")
    w = ET.SubElement(root, "Weights", NTrees=str(len(model.estimators_)), AnalysisType="0")
    lr = model.learning_rate
    rng = np.random.default_rng(3)
    for i, est in enumerate(model.estimators_[:, 0]):
        t = est.tree_
        bt = ET.SubElement(w, "BinaryTree", type="DecisionTree", boostWeight=f"{rng.uniform(0.5, 2):.6f}", itree=str(i))

        def node(parent, j, pos, flip, t=t):
            leaf = t.children_left[j] < 0
            v = lr * t.value[j, 0, 0]
            e = ET.SubElement(parent, "Node", pos=pos, IVar=str(-1 if leaf else t.feature[j]),
                              Cut=repr(float(np.float32(t.threshold[j]))) if not leaf else "0",
                              cType="0" if flip else "1", res=repr(float(v)), purity=repr(float(abs(v) % 1)),
                              nType=str(0 if not leaf else (1 if v > 0 else -1)))
            if not leaf:  # cType 1: x <= cut goes to pos="l"; cType 0: to pos="r"
                le, gt = ("r", "l") if flip else ("l", "r")
                node(e, t.children_left[j], le, (j % 2) == 1, t)
                node(e, t.children_right[j], gt, (j % 3) == 1, t)

        node(bt, 0, "s", False)
    return root


@pytest.mark.parametrize("boost", ["Grad", "AdaBoost"])
def test_tmva_weight_file(tmp_path, boost):
    model = sklearn_model("GradientBoosting", "regression", n_trees=8, depth=3)
    root = _tmva_xml(model, boost)
    p = tmp_path / "TMVAClassification_BDTG.weights.xml"
    ET.ElementTree(root).write(p)
    g = hlsforge.load(p)
    # random inputs: TMVA's cuts are float32, sklearn's float64, so values exactly at a cut
    # may split differently (the structure and the cType/pos rules are what this checks)
    x = np.random.default_rng(5).normal(size=(5000, model.n_features_in_)).astype(np.float32)
    sk = hlsforge.load(model)
    leaves_sk = apply(sk, x)
    leaves_tm = apply(g, x)
    lr = model.learning_rate
    # the same tree walks (node ids differ by numbering, so compare leaf values)
    vals = np.stack([lr * e.tree_.value[:, 0, 0][leaves_sk[:, i]] for i, e in enumerate(model.estimators_[:, 0])], 1)
    if boost == "Grad":
        want = vals.sum(1)
        np.testing.assert_allclose(decision_function(g, x)[:, 0], want, rtol=1e-6, atol=1e-6)
        gp = hlsforge.load(p, output="proba")
        np.testing.assert_allclose(reference.run(gp, x)[:, 0], np.tanh(want), atol=1e-6)
    else:
        bw = np.array([float(b.get("boostWeight")) for b in root.iter("BinaryTree")])
        want = (np.where(vals > 0, 1.0, -1.0) * bw).sum(1) / bw.sum()
        np.testing.assert_allclose(reference.run(g, x)[:, 0], want, rtol=1e-6, atol=1e-6)
    assert leaves_tm.shape == leaves_sk.shape


def test_unsupported_and_malformed(tmp_path):
    import lightgbm as lgb
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    cat = rng.integers(0, 4, size=300)
    x[:, 2] = cat
    y = (cat == 2).astype(float)
    bst = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 2},
                    lgb.Dataset(x, label=y, categorical_feature=[2]), num_boost_round=3)
    with pytest.raises(UnsupportedOpError, match="categorical"):
        hlsforge.load(bst)
    xb = xgb.train({"objective": "binary:logistic", "booster": "gblinear"}, xgb.DMatrix(x, label=y), 2)
    with pytest.raises(UnsupportedOpError, match="gblinear"):
        hlsforge.load(xb)
    bad = tmp_path / "bad.json"
    bad.write_text('{"learner": {"gradient_booster": {}}}')
    with pytest.raises(ModelFormatError):
        hlsforge.load(bad)
    with pytest.raises(UnsupportedOpError, match="output"):
        hlsforge.load(xgboost_model("binary:logistic"), output="labels")


def test_onnx_ml_tree_ensemble_v5():
    """ai.onnx.ml 5 ``TreeEnsemble`` (hand-built: LEQ, LT and GT modes, leaves by index, NaN
    tracking true/false) against ONNX's reference evaluator and ONNX Runtime."""
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    node = helper.make_node(
        "TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml", n_targets=2, tree_roots=[0, 2],
        nodes_featureids=[0, 1, 2], nodes_modes=numpy_helper.from_array(np.array([0, 1, 3], np.uint8), "m"),
        nodes_splits=numpy_helper.from_array(np.array([0.5, -0.2, 0.25], np.float32), "s"),
        nodes_truenodeids=[0, 1, 3], nodes_trueleafs=[1, 1, 1], nodes_falsenodeids=[1, 2, 4],
        nodes_falseleafs=[0, 1, 1], nodes_missing_value_tracks_true=[1, 0, 1], leaf_targetids=[0, 0, 0, 1, 1],
        leaf_weights=numpy_helper.from_array(np.array([1.0, 2.0, 3.0, -1.0, 0.5], np.float32), "w"),
        aggregate_function=1, post_transform=0)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)])
    x = np.random.default_rng(0).normal(size=(2000, 3)).astype(np.float32)
    x[:100, 0], x[100:200, 1], x[200:300, 2], x[300:400] = 0.5, -0.2, 0.25, np.nan
    got = reference.run(hlsforge.load(m), x)
    np.testing.assert_array_equal(got, ReferenceEvaluator(m).run(None, {"X": x})[0])
    ort = pytest.importorskip("onnxruntime")
    np.testing.assert_array_equal(got, ort.InferenceSession(m.SerializeToString()).run(None, {"X": x})[0])
