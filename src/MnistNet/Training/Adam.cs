using System.Numerics;

namespace MnistNet.Training;

/// <summary>
/// Adam (Kingma &amp; Ba), with AdamW's decoupled weight decay when <see cref="WeightDecay"/> is not 0, as PyTorch computes it:
/// <c>θ ← θ·(1 − η·λ)</c> (weights only), <c>m ← β₁·m + (1 − β₁)·g</c>, <c>v ← β₂·v + (1 − β₂)·g²</c>, then
/// <c>θ ← θ − (η / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)</c>.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Adam<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <param name="beta1">β₁ in [0, 1).</param>
    /// <param name="beta2">β₂ in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    /// <param name="weightDecay">λ ≥ 0: AdamW's decoupled decay of the weights (biases are not decayed); 0 is plain Adam.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
        : base(learningRate)
    {
        CheckFraction(beta1, nameof(beta1));
        CheckFraction(beta2, nameof(beta2));
        CheckRate(epsilon, nameof(epsilon));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    /// <summary>Gets β₁.</summary>
    public double Beta1 { get; }

    /// <summary>Gets β₂.</summary>
    public double Beta2 { get; }

    /// <summary>Gets ε.</summary>
    public double Epsilon { get; }

    /// <summary>Gets λ, AdamW's decoupled weight decay (0 for Adam).</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => WeightDecay > 0 ? "adamw" : "adam";

    internal override int StateCount => 2;

    internal override IEnumerable<KeyValuePair<string, string>> Settings() =>
        [new("beta1", Text(Beta1)), new("beta2", Text(Beta2)), new("epsilon", Text(Epsilon)), new("weight_decay", Text(WeightDecay))];

    private protected override void Update(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, T learningRate, bool isWeight)
    {
        // Bias corrections in double from the step count, then one rounding to T.
        double t = Steps;
        T step = learningRate / T.CreateTruncating(1 - Math.Pow(Beta1, t));
        T correction2 = T.CreateTruncating(Math.Sqrt(1 - Math.Pow(Beta2, t)));
        T b1 = T.CreateTruncating(Beta1);
        T b2 = T.CreateTruncating(Beta2);
        T oneMinusB1 = T.One - b1;
        T oneMinusB2 = T.One - b2;
        T epsilon = T.CreateTruncating(Epsilon);
        T decay = T.One - (learningRate * T.CreateTruncating(WeightDecay));
        bool decayed = isWeight && WeightDecay > 0;
        for (int i = 0; i < parameter.Length; i++)
        {
            T g = gradient[i];
            T m = (b1 * s0[i]) + (oneMinusB1 * g);
            T v = (b2 * s1[i]) + (oneMinusB2 * g * g);
            s0[i] = m;
            s1[i] = v;
            T theta = decayed ? parameter[i] * decay : parameter[i];
            parameter[i] = theta - (step * m / ((T.Sqrt(v) / correction2) + epsilon));
        }
    }
}
