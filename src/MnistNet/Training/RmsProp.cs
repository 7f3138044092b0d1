using System.Numerics;

namespace MnistNet.Training;

/// <summary>RMSProp: <c>s ← ρ·s + (1 − ρ)·g²</c>, then <c>θ ← θ − η·g / (√s + ε)</c>.</summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class RmsProp<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <param name="rho">ρ, the decay of the squared-gradient average, in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0, added to the denominator.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public RmsProp(double learningRate = 0.001, double rho = 0.9, double epsilon = 1e-8)
        : base(learningRate)
    {
        CheckFraction(rho, nameof(rho));
        CheckRate(epsilon, nameof(epsilon));
        Rho = rho;
        Epsilon = epsilon;
    }

    /// <summary>Gets ρ.</summary>
    public double Rho { get; }

    /// <summary>Gets ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    public override string Name => "rmsprop";

    internal override int StateCount => 1;

    internal override IEnumerable<KeyValuePair<string, string>> Settings() => [new("rho", Text(Rho)), new("epsilon", Text(Epsilon))];

    private protected override void Update(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, T learningRate, bool isWeight)
    {
        T rho = T.CreateTruncating(Rho);
        T oneMinusRho = T.One - rho;
        T epsilon = T.CreateTruncating(Epsilon);
        for (int i = 0; i < parameter.Length; i++)
        {
            T g = gradient[i];
            T s = (rho * s0[i]) + (oneMinusRho * g * g);
            s0[i] = s;
            parameter[i] -= learningRate * g / (T.Sqrt(s) + epsilon);
        }
    }
}
