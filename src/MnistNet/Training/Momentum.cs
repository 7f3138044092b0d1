using System.Numerics;

namespace MnistNet.Training;

/// <summary>
/// Gradient descent with momentum, as PyTorch's SGD defines it: <c>v ← μ·v + g</c>, then <c>θ ← θ − η·v</c>, or with
/// Nesterov's look-ahead <c>θ ← θ − η·(g + μ·v)</c>.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Momentum<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <param name="momentum">μ in [0, 1).</param>
    /// <param name="nesterov">Use Nesterov's accelerated gradient.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public Momentum(double learningRate = 0.05, double momentum = 0.9, bool nesterov = false)
        : base(learningRate)
    {
        CheckFraction(momentum, nameof(momentum));
        Coefficient = momentum;
        Nesterov = nesterov;
    }

    /// <summary>Gets μ.</summary>
    public double Coefficient { get; }

    /// <summary>Gets whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public override string Name => Nesterov ? "nesterov" : "momentum";

    internal override int StateCount => 1;

    internal override IEnumerable<KeyValuePair<string, string>> Settings() =>
        [new("momentum", Text(Coefficient)), new("nesterov", Nesterov ? "true" : "false")];

    private protected override void Update(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, T learningRate, bool isWeight)
    {
        T mu = T.CreateTruncating(Coefficient);
        for (int i = 0; i < parameter.Length; i++)
        {
            T v = (mu * s0[i]) + gradient[i];
            s0[i] = v;
            parameter[i] -= learningRate * (Nesterov ? gradient[i] + (mu * v) : v);
        }
    }
}
