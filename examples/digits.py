"""Handwritten digits with a multi-layer network: ``pn.nn`` + ``pn.fit``.

1797 images of 8x8 pixels, 10 classes. The pixels are standardized with statistics of the
training part only, a 64-64-10 ReLU network is trained with Adam on the cross-entropy of its
logits, and the accuracy is measured on a held-out quarter of the data it never saw.

Run: ``python examples/digits.py``
"""

import numpy as np

import plainnet as pn

X, y = pn.datasets.digits()
X_train, X_test, y_train, y_test = pn.datasets.split(X, y, test_size=0.25, random_state=0)
X_train, X_test = pn.datasets.standardize(X_train, X_test)

pn.seed(0)
model = pn.nn.Sequential(
    pn.nn.Linear(64, 64),
    pn.nn.ReLU(),
    pn.nn.Linear(64, 10),
)
history = pn.fit(model, X_train, y_train, loss="cross_entropy",
                 optimizer=pn.optim.Adam(model.parameters(), lr=1e-3),
                 epochs=20, batch_size=32, validation_split=0.1, seed=0, verbose=0)

test_accuracy = float(np.mean(model.predict(X_test).argmax(axis=1) == y_test))
print(f"epochs: {len(history['loss'])}")
print(f"final training loss: {history['loss'][-1]:.4f}")
print(f"held-out accuracy: {test_accuracy:.4f}")
