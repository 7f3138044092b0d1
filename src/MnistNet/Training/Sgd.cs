using System.Numerics;
using System.Numerics.Tensors;

namespace MnistNet.Training;

/// <summary>Plain (mini-batch) gradient descent: <c>θ ← θ − η·g</c>.</summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Sgd<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and positive.</exception>
    public Sgd(double learningRate = 0.1)
        : base(learningRate)
    {
    }

    /// <inheritdoc/>
    public override string Name => "sgd";

    internal override int StateCount => 0;

    internal override IEnumerable<KeyValuePair<string, string>> Settings() => [];

    internal override void Update(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, T learningRate, bool isWeight) =>
        TensorPrimitives.MultiplyAdd(gradient, -learningRate, parameter, parameter);
}
