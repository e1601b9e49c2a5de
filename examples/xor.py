"""XOR: one sigmoid neuron cannot learn it, a network of two layers can.

A single neuron draws one straight line through the plane (``x · w + b = 0``), and no line
puts (0, 1) and (1, 0) on one side and (0, 0) and (1, 1) on the other: the best it can do is
3 of the 4 points. A hidden layer of a few neurons bends the boundary, and the network gets
all four right.

Run: ``python examples/xor.py``
"""

import numpy as np

import plainnet as pn

X, y = pn.datasets.xor(4, shuffle=False)  # the truth table: y = x1 XOR x2

# One sigmoid neuron, trained by gradient descent on the log-loss.
neuron = pn.Neuron(2, activation="sigmoid", seed=0)
neuron.fit(X, y, learning_rate=1.0, threshold=1e-9, max_iter=5_000)
neuron_accuracy = float(np.mean(neuron.predict(X) == y))

# Two layers: 4 tanh neurons, then one output neuron (a logit).
pn.seed(0)
network = pn.nn.Sequential(pn.nn.Linear(2, 4), pn.nn.Tanh(), pn.nn.Linear(4, 1))
pn.fit(network, X, y, loss="bce_with_logits", optimizer=pn.optim.Adam(network.parameters(),
       lr=0.05), epochs=300, batch_size=4, verbose=0, seed=0)
network_predictions = (network.predict(X)[:, 0] > 0).astype(int)
network_accuracy = float(np.mean(network_predictions == y))

print(f"one sigmoid neuron accuracy: {neuron_accuracy:.2f}")
print(f"two-layer network accuracy: {network_accuracy:.2f}")
