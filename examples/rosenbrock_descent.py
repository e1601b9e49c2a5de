"""Gradient descent on Rosenbrock's banana valley, and faster methods on the same function.

    f(x, y) = 100 (y - x^2)^2 + (1 - x)^2,   minimum f = 0 at (1, 1)

The notes' gradient descent takes a step of ``learning_rate`` times the gradient and stops
when the function improves by less than ``threshold``. In the long, curved, flat-bottomed
valley that is slow: a learning rate small enough not to blow up across the steep walls
crawls along the floor. ``pn.optimize.minimize`` runs other methods with the same
vocabulary: Adam adapts each coordinate's step, BFGS learns the curvature from the gradients,
and Newton's method uses the exact second derivatives (it sets the derivative of one
quadratic model to zero at a time).

Run: ``python examples/rosenbrock_descent.py``
"""

import numpy as np

import plainnet as pn

rosenbrock = pn.optimize.functions.rosenbrock
x0 = np.array([-1.2, 1.0])

runs = {
    "gradient descent": pn.optimize.gradient_descent(
        rosenbrock, x0, learning_rate=2e-3, threshold=1e-10, max_iter=10_000
    ),
    "adam": pn.optimize.minimize(rosenbrock, x0, method="adam", learning_rate=0.05,
                                 max_iter=5_000),
    "bfgs": pn.optimize.minimize(rosenbrock, x0, method="bfgs"),
    "newton": pn.optimize.minimize(rosenbrock, x0, method="newton"),
}
for name, res in runs.items():
    distance = float(np.linalg.norm(res.x - 1.0))
    print(f"{name}: steps {res.nit}, f = {float(res.fun):.3e}, "
          f"distance to (1, 1) = {distance:.3e} ({res.message})")
