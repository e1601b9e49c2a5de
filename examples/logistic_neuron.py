"""Logistic regression is one sigmoid neuron: ``pn.Neuron`` on the breast-cancer data.

The neuron integrates the 30 (standardized) features, ``v = x · w + b``, and outputs
``sigmoid(v)``, the probability that a tumour is benign. ``fit`` runs the notes' gradient
descent on the log-loss with a learning rate and a threshold: it stops when one step improves
the loss by less than the threshold. Accuracy is measured on held-out tumours, next to
scikit-learn's ``LogisticRegression`` for comparison.

Run: ``python examples/logistic_neuron.py``
"""

import numpy as np
from sklearn.linear_model import LogisticRegression

import plainnet as pn

X, y = pn.datasets.breast_cancer()
X_train, X_test, y_train, y_test = pn.datasets.split(X, y, test_size=0.25, random_state=0)
X_train, X_test = pn.datasets.standardize(X_train, X_test)

neuron = pn.Neuron(X.shape[1], activation="sigmoid", seed=0)
neuron.fit(X_train, y_train, learning_rate=0.5, threshold=1e-5, max_iter=5_000)
accuracy = float(np.mean(neuron.predict(X_test) == y_test))

reference = LogisticRegression(max_iter=1_000).fit(X_train, y_train)

print(f"gradient-descent steps: {neuron.n_iter_} (converged: {neuron.converged_})")
print(f"final training log-loss: {neuron.loss_history[-1]:.4f}")
print(f"sigmoid neuron held-out accuracy: {accuracy:.4f}")
print(f"scikit-learn LogisticRegression held-out accuracy: {reference.score(X_test, y_test):.4f}")
