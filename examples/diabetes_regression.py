"""Regression on the diabetes data: a small network trained on the mean squared error.

442 patients, 10 baseline features, and a disease-progression score one year later. The
features and the target are standardized on the training part; the network learns the
standardized target with ``loss="mse"`` (early stopping on a validation part picks the
epoch), and its predictions are mapped back to the original scale to compute the
coefficient of determination on held-out patients,

    R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean(y))^2

(1 is perfect, 0 is no better than always predicting the mean). The closed-form linear fit
(``pn.optimize.least_squares``, derivative set to zero) is printed next to it as a baseline.

Run: ``python examples/diabetes_regression.py``
"""

import numpy as np

import plainnet as pn


def r2(y_true, y_pred):
    return 1.0 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2)


X, y = pn.datasets.diabetes()
X_train, X_test, y_train, y_test = pn.datasets.split(X, y, test_size=0.25, random_state=0)
X_train, X_test = pn.datasets.standardize(X_train, X_test)
y_mean, y_std = y_train.mean(), y_train.std()

pn.seed(0)
model = pn.nn.Sequential(pn.nn.Linear(10, 16), pn.nn.Tanh(), pn.nn.Linear(16, 1))
history = pn.fit(
    model, X_train, (y_train - y_mean) / y_std, loss="mse",
    optimizer=pn.optim.Adam(model.parameters(), lr=1e-3),
    epochs=300, batch_size=32, validation_split=0.2, seed=0, verbose=0,
    callbacks=[pn.callbacks.EarlyStopping(patience=10)],  # keeps the best validation weights
)
y_pred = model.predict(X_test)[:, 0] * y_std + y_mean

w, b = pn.optimize.least_squares(X_train, y_train)

print(f"epochs before early stopping: {len(history['loss'])}")
print(f"network held-out R^2: {r2(y_test, y_pred):.3f}")
print(f"linear least-squares held-out R^2: {r2(y_test, X_test @ w + b):.3f}")
