namespace MnistNet.Networks;

/// <summary>How <see cref="DenseNetwork{T}"/> draws its initial weights (biases start at zero, except for <see cref="Uniform"/>).</summary>
public enum Initialization
{
    /// <summary>The seed's scheme: every weight and bias uniform in [−0.5, 0.5).</summary>
    Uniform,

    /// <summary>He (Kaiming) normal: weights ~ N(0, 2 / fan-in), biases 0; suited to ReLU layers.</summary>
    He,

    /// <summary>Glorot (Xavier) uniform: weights uniform in ±√(6 / (fan-in + fan-out)), biases 0.</summary>
    Glorot,

    /// <summary>
    /// Fan-in uniform: weights and biases uniform in ±1/√fan-in — PyTorch's default for <c>nn.Linear</c> and
    /// <c>nn.Conv2d</c> (<c>kaiming_uniform_</c> with a = √5), for like-for-like comparisons with it.
    /// </summary>
    FanInUniform,
}
