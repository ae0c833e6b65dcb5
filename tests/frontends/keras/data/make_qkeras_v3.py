import io
import json
import os
import sys
import zipfile

os.environ["TF_CPP_MIN_LOG_LEVEL"]="3"
import h5py
import keras
import numpy as np
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

rng = np.random.default_rng(7)
out = sys.argv[1]
inp = keras.Input((16,), name="inputs")
h = QActivation(quantized_bits(8, 3, alpha=1), name="in_q")(inp)
h = QDense(12, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="fc1")(h)
h = QActivation(quantized_relu(6, 2), name="relu1")(h)
h = QDense(8, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), activation=quantized_relu(6, 2), name="fc2")(h)
h = QDense(5, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)", name="output")(h)
m = keras.Model(inp, h, name="qmlp")
for layer in m.layers:
    ws = layer.get_weights()
    if ws:
        layer.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in ws])
x = (rng.integers(-64, 64, size=(200, 16)) / 8.0).astype(np.float32)
y = m.predict(x, verbose=0)
m.save(f"{out}/qkeras_v3_mlp.keras")
np.savez(f"{out}/qkeras_v3_mlp_io.npz", x=x, y=y)
# conv
inp = keras.Input((8, 8, 2), name="img")
h = QActivation(quantized_bits(8, 3, alpha=1), name="in_q")(inp)
h = QConv2D(4, (3, 3), kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="conv")(h)
h = QActivation(quantized_relu(6, 2), name="relu")(h)
h = keras.layers.MaxPooling2D((2, 2), name="pool")(h)
h = keras.layers.Flatten(name="flat")(h)
h = QDense(3, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="out")(h)
m = keras.Model(inp, h, name="qcnn")
for layer in m.layers:
    ws = layer.get_weights()
    if ws:
        layer.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in ws])
x = (rng.integers(-64, 64, size=(100, 8, 8, 2)) / 8.0).astype(np.float32)
y = m.predict(x, verbose=0)
m.save(f"{out}/qkeras_v3_cnn.keras")
np.savez(f"{out}/qkeras_v3_cnn_io.npz", x=x, y=y)
z = zipfile.ZipFile(f"{out}/qkeras_v3_mlp.keras")
print(json.dumps(json.loads(z.read("config.json")), indent=1)[:6000])
print(z.read("metadata.json"))
f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
f.visititems(lambda n, o: print(n, o, dict(o.attrs)))
